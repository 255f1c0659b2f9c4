import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { startLmcpFixture, type PeerProc } from "../helpers/peers.js";

const TOKEN = "lmcp-hub-token-0123456789";

const text = (r: CallToolResult) => (r.content[0]?.type === "text" ? r.content[0].text : "");

describe("remote_* tools end to end (stdio): local host, an lmcp peer, a registry with a broken line", () => {
  let dir: string;
  let herd: Herd;
  let lmcp: PeerProc;
  let registry: string;
  const call = async (name: string, args: Record<string, unknown>) =>
    (await herd.client.callTool({ name, arguments: args })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-remote-"));
    lmcp = await startLmcpFixture(["--token", TOKEN]);
    registry = join(dir, "hub-backends.conf");
    writeFileSync(
      registry,
      ["# name ssh_host lmcp_url token", `lmcpbox - ${lmcp.url} ${TOKEN}`, "broken line here with too many fields", `deadbox - http://127.0.0.1:1/mcp -`].join("\n"),
    );
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ hosts: [{ name: "cfgbox", peer: { url: lmcp.url, token: TOKEN } }] }));
    herd = await startHerd({ args: ["--config", config, "--hosts", registry], env: { LMCP_HUB_LMCP_TIMEOUT: "3" } });
  });
  afterAll(async () => {
    await herd?.close();
    await lmcp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists the remote tools, each with host + the host tool's arguments and all four annotations", async () => {
    const { tools } = await herd.client.listTools();
    const names = tools.map((t) => t.name).filter((n) => n.startsWith("remote_")).sort();
    expect(names).toEqual([
      "remote_edit_file",
      "remote_job_kill",
      "remote_job_list",
      "remote_job_output",
      "remote_job_status",
      "remote_list_dir",
      "remote_list_hosts",
      "remote_read_file",
      "remote_search_files",
      "remote_shell",
      "remote_shell_bg",
      "remote_write_file",
    ]);
    const shell = tools.find((t) => t.name === "remote_shell")!;
    expect(shell.inputSchema.required).toEqual(expect.arrayContaining(["host", "command"]));
    expect(Object.keys(shell.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(["host", "command", "cwd", "timeout"]));
    expect(shell.outputSchema).toBeDefined();
    for (const t of tools.filter((x) => x.name.startsWith("remote_"))) {
      expect(Object.keys(t.annotations ?? {})).toEqual(expect.arrayContaining(["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"]));
    }
  });

  it("remote_list_hosts: every host with state, via, paths, and the broken registry line", async () => {
    const r = await call("remote_list_hosts", { force: true });
    expect(r.isError).toBeFalsy();
    const s = r.structuredContent as { hosts: Array<{ name: string; state: string; via?: string; tool_count?: number; error?: string }>; problems: Array<{ where: string }> };
    const byName = Object.fromEntries(s.hosts.map((h) => [h.name, h]));
    expect(Object.keys(byName).sort()).toEqual(["cfgbox", "deadbox", "lmcpbox", "local"]);
    expect(byName.local).toMatchObject({ state: "UP", via: "local", tool_count: 7 });
    expect(byName.lmcpbox).toMatchObject({ state: "UP", via: "peer", tool_count: 5 });
    expect(byName.deadbox).toMatchObject({ state: "DOWN" });
    expect(byName.deadbox!.error).toMatch(/^peer: .*127\.0\.0\.1:1/);
    expect(s.problems.map((p) => p.where)).toEqual([`${registry}:3`]);
    expect(text(r)).toMatch(/^lmcpbox\s+UP\s+via=peer/m);
    expect(text(r)).toContain(`${registry}:3: expected 'name ssh_host lmcp_url token'`);
    expect(herd.stderr()).toContain(`${registry}:3`);
  });

  it("remote tools on local run here, byte-exact with awkward paths", async () => {
    const path = join(dir, "we ird 'q' \"dq\" $(echo x)\nnl.txt");
    const content = "a $(rm -rf /) `x` 'q' \"dq\"\nline2\n";
    const w = await call("remote_write_file", { host: "local", path, content });
    expect(w.isError).toBeFalsy();
    expect(w.structuredContent).toMatchObject({ via: "local" });
    expect(readFileSync(path, "utf8")).toBe(content);
    const r = await call("remote_read_file", { host: "local", path });
    expect((r.structuredContent as { content: string }).content).toBe(content);
    const sh = await call("remote_shell", { host: "local", command: "printf '%s' \"$X\"", env: { X: "ok here" } });
    expect(sh.structuredContent).toMatchObject({ exit_code: 0, stdout: "ok here", via: "local" });
  });

  it("remote tools on an lmcp peer go over plain JSON-RPC and say via=peer", async () => {
    const path = join(dir, "for lmcp.txt");
    writeFileSync(path, "from the lmcp host\n");
    const r = await call("remote_read_file", { host: "lmcpbox", path });
    expect(r.isError).toBeFalsy();
    expect(text(r)).toBe("from the lmcp host\n");
    expect(r.structuredContent).toEqual({ via: "peer" });
    const c = await call("remote_read_file", { host: "cfgbox", path });
    expect(text(c)).toBe("from the lmcp host\n");
  });

  it("a peer tool's own error is passed through, not retried elsewhere", async () => {
    const r = await call("remote_read_file", { host: "lmcpbox", path: join(dir, "missing") });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/ENOENT/);
  });

  it("a host whose only path is down: one error naming the path and why", async () => {
    const r = await call("remote_shell", { host: "deadbox", command: "true" });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^shell on host 'deadbox': every path failed: peer: .*127\.0\.0\.1:1/);
  });

  it("bad input: unknown host lists the known ones; missing arguments are refused", async () => {
    const u = await call("remote_shell", { host: "nope", command: "true" });
    expect(u.isError).toBe(true);
    expect(text(u)).toMatch(/unknown host 'nope': known hosts are cfgbox, deadbox, lmcpbox, local/);
    const m = await call("remote_shell", { host: "local" });
    expect(m.isError).toBe(true);
    expect(text(m)).toMatch(/command/);
    const h = await call("remote_read_file", { path: "/etc/hostname" });
    expect(h.isError).toBe(true);
    expect(text(h)).toMatch(/host/);
  });

  it("herd_status counts the hosts", async () => {
    const r = await call("herd_status", {});
    expect(r.structuredContent).toMatchObject({ hosts: 4 });
  });
});
