import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { startPeerHerd, type PeerProc } from "../helpers/peers.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const PEER_TOKEN = "peer-herd-token-0123456789abcdef";

const via = (r: CallToolResult) => (r.structuredContent as { via?: string } | undefined)?.via;

describe("a host with an mcp-herd peer and a real sshd: every tool over the peer, fallback to SSH, both down, both back", () => {
  let dir: string;
  let sshd: Sshd;
  let peer: PeerProc;
  let hub: Herd;
  const call = async (name: string, args: Record<string, unknown>) =>
    (await hub.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-fallback-"));
    sshd = await startSshd();
    peer = await startPeerHerd({ stateDir: join(dir, "peer-state"), token: PEER_TOKEN });
    const config = join(dir, "hub.json");
    writeFileSync(
      config,
      JSON.stringify({
        hosts: [
          {
            name: "box",
            peer: { url: peer.url, token: PEER_TOKEN },
            ssh: sshd.hostSpec(),
          },
          {
            name: "sshbox",
            ssh: sshd.hostSpec(),
          },
        ],
      }),
    );
    hub = await startHerd({ args: ["--config", config], env: { LMCP_HUB_LMCP_TIMEOUT: "3", LMCP_HUB_SSH_TIMEOUT: "5" } });
  });
  afterAll(async () => {
    await hub?.close();
    await peer?.stop();
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves every remote tool over SSH for an SSH-only host, byte-exact with awkward names", async () => {
    const sub = join(dir, "ssh only", "we'ird $(x) \"dq\"\nnl");
    const mk = await call("remote_shell", { host: "sshbox", command: 'mkdir -p -- "$D" && printf ok', env: { D: sub } });
    expect(mk.isError, text(mk)).toBeFalsy();
    expect(mk.structuredContent).toMatchObject({ exit_code: 0, stdout: "ok", via: "ssh" });
    const f = join(sub, "f i'l\"e $(rm -rf ~).txt");
    const content = "x $(y) `z` 'q' \"dq\"\n\u00e9\r\nend";
    const w = await call("remote_write_file", { host: "sshbox", path: f, content });
    expect(w.isError, text(w)).toBeFalsy();
    expect(readFileSync(f, "utf8")).toBe(content);
    const r = await call("remote_read_file", { host: "sshbox", path: f });
    expect(r.structuredContent).toMatchObject({ content, via: "ssh" });
    const e = await call("remote_edit_file", { host: "sshbox", path: f, old_string: "`z`", new_string: "Z" });
    expect(e.isError, text(e)).toBeFalsy();
    expect(readFileSync(f, "utf8")).toBe(content.replace("`z`", "Z"));
    const l = await call("remote_list_dir", { host: "sshbox", path: sub });
    expect(via(l)).toBe("ssh");
    expect(JSON.stringify(l.structuredContent)).toContain(JSON.stringify("f i'l\"e $(rm -rf ~).txt").slice(1, -1));
    const s = await call("remote_search_files", { host: "sshbox", path: join(dir, "ssh only"), pattern: "*.txt" });
    expect(via(s)).toBe("ssh");
    expect((s.structuredContent as { matches: unknown[] }).matches).toHaveLength(1);
    const log = join(dir, "ssh bg.log");
    const bg = await call("remote_shell_bg", { host: "sshbox", command: "echo ssh-bg-done", log });
    expect(bg.isError, text(bg)).toBeFalsy();
    expect(via(bg)).toBe("ssh");
    expect(await waitFor(() => readFileSafe(log).includes("ssh-bg-done"), 10_000)).toBe(true);
  });

  it("serves every remote tool through the peer", async () => {
    const f = join(dir, "a dir with spaces", "f 'q' $(x).txt");
    const mk = await call("remote_shell", { host: "box", command: `mkdir -p "${join(dir, "a dir with spaces")}" && echo made` });
    expect(mk.isError, text(mk)).toBeFalsy();
    expect(mk.structuredContent).toMatchObject({ exit_code: 0, stdout: "made\n", via: "peer" });

    const w = await call("remote_write_file", { host: "box", path: f, content: "one\ntwo $(x) `y`\n" });
    expect(w.isError, text(w)).toBeFalsy();
    expect(via(w)).toBe("peer");
    const r = await call("remote_read_file", { host: "box", path: f });
    expect(r.structuredContent).toMatchObject({ content: "one\ntwo $(x) `y`\n", via: "peer" });
    const e = await call("remote_edit_file", { host: "box", path: f, old_string: "one", new_string: "uno" });
    expect(e.isError, text(e)).toBeFalsy();
    expect(via(e)).toBe("peer");
    expect(readFileSync(f, "utf8")).toBe("uno\ntwo $(x) `y`\n");
    const l = await call("remote_list_dir", { host: "box", path: join(dir, "a dir with spaces") });
    expect(text(l)).toContain("f 'q' $(x).txt");
    expect(via(l)).toBe("peer");
    const s = await call("remote_search_files", { host: "box", path: dir, pattern: "f '*" });
    expect(via(s)).toBe("peer");
    expect(JSON.stringify(s.structuredContent)).toContain("f 'q' $(x).txt");
    const bg = await call("remote_shell_bg", { host: "box", command: "echo bg-done", log: join(dir, "bg.log") });
    expect(bg.isError, text(bg)).toBeFalsy();
    expect(via(bg)).toBe("peer");
    expect(await waitFor(() => readFileSafe(join(dir, "bg.log")).includes("bg-done"), 10_000)).toBe(true);
    const tool = await call("remote_edit_file", { host: "box", path: f, old_string: "absent", new_string: "x" });
    expect(tool.isError).toBe(true);
    expect(text(tool)).not.toMatch(/\[via/);

    const started = Date.now();
    const slow = await call("remote_shell", { host: "box", command: "sleep 30", timeout: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(slow.structuredContent).toMatchObject({ timed_out: true, via: "peer" });

    const hosts = await call("remote_list_hosts", { force: true });
    const box = (hosts.structuredContent as { hosts: Array<Record<string, unknown>> }).hosts.find((h) => h.name === "box");
    expect(box).toMatchObject({ state: "UP", via: "peer" });
  });

  it("peer killed: the next call is served via SSH", async () => {
    await peer.stop();
    const r = await call("remote_shell", { host: "box", command: "echo over-ssh" });
    expect(r.isError, text(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ exit_code: 0, stdout: "over-ssh\n", via: "ssh" });
    expect(text(r)).toMatch(/via ssh fallback on 'box': peer: .*ECONNREFUSED/);
    const f = join(dir, "via ssh.txt");
    const w = await call("remote_write_file", { host: "box", path: f, content: "ssh 'q'\n" });
    expect(via(w)).toBe("ssh");
    expect(readFileSync(f, "utf8")).toBe("ssh 'q'\n");
  });

  it("sshd stopped too: one error naming both paths", async () => {
    await sshd.stop({ keepFiles: true });
    // The warm SSH connection may not be noticed dead before the next command goes out on it; that
    // command's outcome is then unknown and it is reported as such, never retried elsewhere.
    const first = await call("remote_shell", { host: "box", command: "true" });
    expect(first.isError).toBe(true);
    expect(text(first)).toMatch(/every path failed: peer: .*ECONNREFUSED.* \| ssh: .+|outcome is unknown and it was not retried/);
    await call("remote_list_hosts", { force: true });
    const down = await call("remote_list_hosts", { force: true });
    const box = (down.structuredContent as { hosts: Array<Record<string, unknown>> }).hosts.find((h) => h.name === "box");
    expect(box).toMatchObject({ state: "DOWN" });
    // Once the drop is known, a call names each path and why.
    const r = await call("remote_shell", { host: "box", command: "true" });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^shell on host 'box': every path failed: peer: .*ECONNREFUSED.* \| ssh: .+/);
  });

  it("both restarted: UP again after force, and calls go through the peer", async () => {
    await sshd.restart();
    peer = await startPeerHerd({ stateDir: join(dir, "peer-state"), token: PEER_TOKEN, port: peer.port });
    const up = await call("remote_list_hosts", { force: true });
    const box = (up.structuredContent as { hosts: Array<{ name: string; paths: Array<{ kind: string; ok: boolean }> }> }).hosts.find((h) => h.name === "box");
    expect(box).toMatchObject({ state: "UP", via: "peer" });
    expect(box!.paths.map((p) => [p.kind, p.ok])).toEqual([["peer", true], ["ssh", true]]);
    const r = await call("remote_shell", { host: "box", command: "echo back" });
    expect(r.structuredContent).toMatchObject({ stdout: "back\n", via: "peer" });
  });
});

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}
