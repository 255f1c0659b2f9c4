import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const ECHO = fileURLToPath(new URL("../fixtures/echo-server.mjs", import.meta.url));
const SVC_SECRET = "SVC-ENV-SECRET-7731";
const FILE_SECRET = "SSH-FILE-SECRET-4410";

type Line = { time: string; who: string; what: string; where?: string; args?: Record<string, unknown>; ok: boolean; error?: string; duration_ms?: number };

describe("the audit log over stdio: service spawns, supervisor restarts, writes over SSH", () => {
  let dir: string;
  let sshd: Sshd;
  let herd: Herd;
  let audit: string;
  const lines = (): Line[] => {
    let t = "";
    try {
      t = readFileSync(audit, "utf8");
    } catch {
      return [];
    }
    return t.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line);
  };
  const call = async (name: string, args: Record<string, unknown>) =>
    (await herd.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-audit-more-"));
    audit = join(dir, "audit.jsonl");
    sshd = await startSshd();
    const config = join(dir, "c.json");
    writeFileSync(
      config,
      JSON.stringify({
        auditLog: audit,
        hosts: [{ name: "box", ssh: sshd.hostSpec() }],
      }),
    );
    herd = await startHerd({ args: ["--config", config], env: { MCP_HERD_BACKOFF_START_MS: "200" } });
  });
  afterAll(async () => {
    await herd?.close();
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records a service_load spawn as who stdio, what service_load, where the service, with env values reduced to a count", async () => {
    const r = await call("service_load", { name: "audited", command: process.execPath, args: [ECHO], env: { FIXTURE_SECRET: SVC_SECRET } });
    expect(r.isError, text(r)).toBeFalsy();
    expect(await waitFor(() => lines().some((l) => l.what === "service_load"), 5_000)).toBe(true);
    const load = lines().find((l) => l.what === "service_load")!;
    expect(load).toMatchObject({ who: "stdio", where: "audited", ok: true, args: { name: "audited", command: process.execPath, args: [ECHO], env: "<1 keys>" } });
    expect(load.duration_ms).toEqual(expect.any(Number));
    expect(readFileSync(audit, "utf8")).not.toContain(SVC_SECRET);
  });

  it("records the supervisor's restart after a crash as an event line naming the service", async () => {
    const crash = await call("service_call", { name: "audited", tool: "crash" });
    expect(crash.isError).toBe(true);
    const isRestart = (l: Line) => l.who === "supervisor" && /^service:audited restarted: /.test(l.what);
    expect(await waitFor(() => lines().some(isRestart), 15_000, 100)).toBe(true);
    const all = lines();
    const restarted = all.find(isRestart);
    const crashed = all.find((l) => l.who === "supervisor" && /^service:audited crashed: exited \(exit code 3\)/.test(l.what));
    expect(crashed, JSON.stringify(all, null, 1)).toMatchObject({ where: "audited", ok: false });
    expect(all.find((l) => l.who === "supervisor" && /^service:audited restarting in /.test(l.what))).toMatchObject({ where: "audited", ok: true });
    expect(restarted).toMatchObject({ where: "audited", ok: true });
    expect(all.indexOf(crashed!)).toBeLessThan(all.indexOf(restarted!));
    expect(all.find((l) => l.what === "service_call")).toMatchObject({ who: "stdio", where: "audited", ok: false, args: { tool: "crash" } });
    const ok = await call("service_call", { name: "audited", tool: "echo", arguments: { message: "after restart" } });
    expect(text(ok)).toContain("after restart");
    expect(readFileSync(audit, "utf8")).not.toContain(SVC_SECRET);
  });

  it("records a remote_write_file over SSH with the content reduced to its size", async () => {
    const target = join(dir, "over ssh.txt");
    const w = await call("remote_write_file", { host: "box", path: target, content: FILE_SECRET });
    expect(w.isError, text(w)).toBeFalsy();
    expect((w.structuredContent as { via?: string }).via).toBe("ssh");
    expect(readFileSync(target, "utf8")).toBe(FILE_SECRET);
    expect(await waitFor(() => lines().some((l) => l.what === "remote_write_file"), 5_000)).toBe(true);
    const write = lines().find((l) => l.what === "remote_write_file")!;
    expect(write).toMatchObject({ who: "stdio", where: "box", ok: true, args: { host: "box", path: target, content: `<${FILE_SECRET.length} bytes>` } });
    expect(readFileSync(audit, "utf8")).not.toContain(FILE_SECRET);
  });
});
