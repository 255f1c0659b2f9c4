import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { startPeerHerd, type PeerProc } from "../helpers/peers.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const PEER_TOKEN = "fleet-progress-token-0123456789";

/** Pids whose command line contains the marker (this test's own processes only). */
function pgrep(marker: string): number[] {
  const r = spawnSync("pgrep", ["-f", marker], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

describe("live progress and cancellation over local, ssh and an mcp-herd peer", () => {
  let dir: string;
  let sshd: Sshd;
  let peer: PeerProc;
  let hub: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-progress-"));
    sshd = await startSshd();
    peer = await startPeerHerd({ stateDir: join(dir, "peer-state"), token: PEER_TOKEN });
    const config = join(dir, "hub.json");
    writeFileSync(
      config,
      JSON.stringify({
        hosts: [
          { name: "s1", ssh: sshd.hostSpec() },
          { name: "p1", peer: { url: peer.url, token: PEER_TOKEN } },
        ],
      }),
    );
    hub = await startHerd({ args: ["--config", config] });
  });
  afterAll(async () => {
    await hub?.close();
    await peer?.stop();
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
