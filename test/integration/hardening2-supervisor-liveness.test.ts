import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { alive, fixture, NODE, text, until } from "../fixtures/services-helpers.js";

// Issue 12, item 6: liveness is checked while calls keep arriving (a SIGSTOPped child is found,
// killed and restarted), and the end of a child's stdout is its death.

const herds: Herd[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
});
async function herd(env: Record<string, string> = {}): Promise<Herd> {
  const h = await startHerd({ env: { MCP_HERD_KILL_GRACE_MS: "500", MCP_HERD_BACKOFF_START_MS: "100", ...env } });
  herds.push(h);
  return h;
}
const call = (client: Client, name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 });
async function info(client: Client, name: string): Promise<{ status: string; pid: number | null; restarts: number; last_exit: { reason: string } | null }> {
  const l = await call(client, "service_list", { name });
  return (l.structuredContent as { services: { status: string; pid: number | null; restarts: number; last_exit: { reason: string } | null }[] }).services[0]!;
}
const pidsIn = (file: string): number[] => {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

describe("liveness under load", () => {
  it("a child SIGSTOPped while a loop of calls runs is found hung within a bounded time, killed, restarted, and later calls succeed", async () => {
    const h = await herd({ MCP_HERD_PING_INTERVAL_MS: "300", MCP_HERD_PING_TIMEOUT_MS: "1000" });
    const loaded = await call(h.client, "service_load", { name: "echo", command: NODE, args: [fixture("echo-server.mjs")] });
    expect(loaded.isError, text(loaded)).toBeFalsy();
    const pid = (await info(h.client, "echo")).pid!;

    // Four callers, one call after another, the whole time: the child is never idle.
    let stop = false;
    const outcomes: { at: number; ok: boolean; text: string; ms: number }[] = [];
    const loop = async () => {
      for (let i = 0; !stop; i++) {
        const t = Date.now();
        const r = await h.client.callTool({ name: "echo__echo", arguments: { message: `m${i}` } }, undefined, { timeout: 30_000 });
        outcomes.push({ at: t, ok: !r.isError && text(r) === `m${i}`, text: text(r), ms: Date.now() - t });
        if (r.isError) await new Promise((res) => setTimeout(res, 20));
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    await until(() => outcomes.length > 50, 10_000);
    const stoppedAt = Date.now();
    process.kill(pid, "SIGSTOP");

    const back = await until(async () => {
      const s = await info(h.client, "echo");
      return s.status === "running" && s.pid !== pid;
    }, 20_000);
    const detectedMs = Date.now() - stoppedAt;
    expect(back, "restarted with a new pid").toBe(true);
    // Ping every 300 ms, 1 s bound, a 500 ms kill grace: ~2 s expected, 20 s is the deadline against a hang.
    expect(detectedMs).toBeLessThan(20_000);
    expect(await until(() => !alive(pid), 5_000), "the stopped child is gone").toBe(true);
    const resumed = outcomes.length;
    await until(() => outcomes.slice(resumed).filter((o) => o.ok).length >= 20, 10_000);
    stop = true;
    await Promise.all(loops);

    const after = outcomes.slice(resumed);
    expect(after.filter((o) => o.ok).length).toBeGreaterThanOrEqual(20);
    // Calls cut off by the kill, and those made while it restarted, fail clearly and fast; none waits out a timeout.
    const failed = outcomes.filter((o) => !o.ok);
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) {
      expect(f.text).toMatch(/service 'echo' (was killed because it answered nothing, not even a ping, for 1000 ms \(hung|is restarting|is starting)/);
      expect(f.ms).toBeLessThan(15_000);
    }
    expect((await info(h.client, "echo")).last_exit?.reason).toMatch(/hung/);
    const logs = text(await call(h.client, "service_logs", { name: "echo", lines: 100 }));
    expect(logs).toMatch(/did not answer a ping within 1000 ms/);
    if (process.env.LIVENESS_VERBOSE) process.stderr.write(`SIGSTOP: back in ${detectedMs} ms, ${failed.length} of ${outcomes.length} calls failed, e.g. ${failed[0]?.text}\n`);
  }, 60_000);

  it("a child that closes its stdout but keeps running: the call fails fast and says so, the child is killed and restarted", async () => {
    const h = await herd({ MCP_HERD_PING_INTERVAL_MS: "60000" });
    const pidFile = join(h.stateDir, "closer-pids.txt");
    const loaded = await call(h.client, "service_load", { name: "closer", command: NODE, args: [fixture("hardening/stdout-closer.mjs")], env: { FIXTURE_PID_FILE: pidFile } });
    expect(loaded.isError, text(loaded)).toBeFalsy();
    const [first] = pidsIn(pidFile);
    expect(first).toBeGreaterThan(0);

    const t0 = Date.now();
    const r = await call(h.client, "closer__hang_up", {});
    const took = Date.now() - t0;
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/service 'closer' was killed because it closed its stdout while still running \(pid \d+\); the call to 'hang_up' ended with it/);
    // Fails fast: not the 60 s call timeout (the deadline here is 10x what it takes).
    expect(took, `failed after ${took} ms`).toBeLessThan(10_000);
    expect(await until(() => !alive(first!), 5_000), "the closed child is killed").toBe(true);

    expect(await until(async () => (await info(h.client, "closer")).status === "running", 10_000)).toBe(true);
    const s = await info(h.client, "closer");
    expect(s.pid).not.toBe(first);
    expect(s.restarts).toBe(1);
    expect(s.last_exit?.reason).toMatch(/closed its stdout while still running/);
    expect(text(await call(h.client, "closer__echo", { message: "back" }))).toBe("back");
    const logs = text(await call(h.client, "service_logs", { name: "closer", lines: 100 }));
    expect(logs).toMatch(/closed its stdout while still running: treated as exited/);
  }, 60_000);
});
