import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const PEER_TOKEN = "fleet-progress-token-0123456789";
const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");

/** A second mcp-herd in peer mode over HTTP with a token. */
async function startPeer(stateDir: string): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, [CLI, "--peer", "--http", "127.0.0.1:0", "--state-dir", stateDir], {
    env: { ...process.env, MCP_HERD_TOKEN: PEER_TOKEN },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer did not listen within 15s:\n${err}`)), 15_000);
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+\/mcp)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.once("exit", (code) => reject(new Error(`peer exited with ${code}:\n${err}`)));
  });
  return { url, proc };
}

/** Pids whose command line contains the marker (this test's own processes only). */
function pgrep(marker: string): number[] {
  const r = spawnSync("pgrep", ["-f", marker], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

describe("live progress and cancellation over local, ssh and an mcp-herd peer", () => {
  let dir: string;
  let sshd: Sshd;
  let peer: { url: string; proc: ChildProcess };
  let hub: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-progress-"));
    sshd = await startSshd();
    peer = await startPeer(join(dir, "peer-state"));
    const config = join(dir, "hub.json");
    writeFileSync(
      config,
      JSON.stringify({
        hosts: [
          { name: "s1", ssh: { host: "127.0.0.1", port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile } },
          { name: "p1", peer: { url: peer.url, token: PEER_TOKEN } },
        ],
      }),
    );
    hub = await startHerd({ args: ["--config", config] });
  });
  afterAll(async () => {
    await hub?.close();
    if (peer?.proc.exitCode === null) {
      const gone = new Promise((r) => peer.proc.once("exit", r));
      peer.proc.kill("SIGKILL");
      await gone;
    }
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(["local", "s1", "p1"])("streams the output of a 3 s command on %s as progress, which also resets the call timeout", async (host) => {
    const seen: string[] = [];
    const r = (await hub.client.callTool(
      { name: "remote_shell", arguments: { host, command: "for i in 1 2 3; do echo tick-$i; sleep 1; done; echo end" } },
      undefined,
      { timeout: 2500, resetTimeoutOnProgress: true, onprogress: (p) => seen.push(p.message ?? "") },
    )) as CallToolResult;
    expect(r.isError, text(r)).toBeFalsy();
    expect((r.structuredContent as { stdout: string }).stdout).toBe("tick-1\ntick-2\ntick-3\nend\n");
    const all = seen.join("\n");
    expect(all).toContain("tick-2");
    expect(all).toContain("tick-3");
    expect(seen.length).toBeGreaterThanOrEqual(2);
  });

  it("runs a background job over the peer: start, output, status, kill", async () => {
    const call = async (name: string, args: Record<string, unknown>) =>
      (await hub.client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 })) as CallToolResult;
    const data = (r: CallToolResult) => (r.structuredContent ?? {}) as Record<string, unknown>;
    const bg = await call("remote_shell_bg", { host: "p1", command: "echo peer-job; exec sleep 60" });
    expect(bg.isError, text(bg)).toBeFalsy();
    expect(data(bg).via).toBe("peer");
    const job = data(bg).job as string;
    expect(job.startsWith("p1:")).toBe(true);
    expect(await waitFor(async () => data(await call("remote_job_output", { job })).output === "peer-job\n", 10_000, 200)).toBe(true);
    expect(data(await call("remote_job_status", { job })).state).toBe("running");
    const k = await call("remote_job_kill", { job, signal: "KILL" });
    expect(data(k)).toMatchObject({ gone: true, state: "killed" });
  });

  it.each(["local", "s1", "p1"])("a cancelled 30 s command on %s leaves no process behind", async (host) => {
    const marker = `30.${Date.now() % 100000}${Math.floor(Math.random() * 1e6)}`;
    const ctrl = new AbortController();
    const call = hub.client.callTool({ name: "remote_shell", arguments: { host, command: `sleep ${marker}; echo never` } }, undefined, {
      signal: ctrl.signal,
      timeout: 60_000,
    });
    const settled = call.then(
      () => "resolved",
      (e: Error) => e.message,
    );
    expect(await waitFor(() => pgrep(marker).length > 0, 10_000)).toBe(true);
    ctrl.abort("test cancels");
    expect(await settled).toMatch(/cancel|abort/i);
    expect(await waitFor(() => pgrep(marker).length === 0, 10_000, 100)).toBe(true);
  });
});
