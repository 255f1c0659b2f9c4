import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { alive, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { fixture, NODE, text } from "../fixtures/services-helpers.js";

const herds: Herd[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
});

/** The built CLI with the supervisor's intervals shortened through its MCP_HERD_* environment knobs. */
async function herd(env: Record<string, string>): Promise<Herd> {
  const h = await startHerd({ env: { MCP_HERD_KILL_GRACE_MS: "500", ...env } });
  herds.push(h);
  return h;
}

async function call(client: Client, name: string, args: Record<string, unknown>) {
  return client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 });
}

type Info = { name: string; status: string; pid: number | null; restarts: number; error: string | null };
async function info(client: Client, name: string): Promise<Info | undefined> {
  const l = await call(client, "service_list", {});
  return (l.structuredContent as { services: Info[] }).services.find((s) => s.name === name);
}

/** The backoff delays the supervisor chose, in order, from the "restarting in N ms" lines of service_logs. */
async function delays(client: Client, name: string): Promise<number[]> {
  const r = await call(client, "service_logs", { name, lines: 1000 });
  const lines = (r.structuredContent as { lines: { stream: string; text: string }[] }).lines;
  return lines.filter((l) => l.stream === "herd").flatMap((l) => {
    const m = /restarting in (\d+) ms$/.exec(l.text);
    return m ? [Number(m[1])] : [];
  });
}

const pidsIn = (file: string): number[] => {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

const running = (client: Client, name: string) => waitFor(async () => (await info(client, name))?.status === "running", 15_000);

describe("restart policy through the real server", () => {
  it("a child that crashes soon after each successful start restarts with doubling delays, ends `crashed` after the 6th crash, and service_restart resets the history", async () => {
    const h = await herd({ MCP_HERD_BACKOFF_START_MS: "50", MCP_HERD_BACKOFF_MAX_MS: "10000" });
    const spec = { name: "flaky", command: NODE, args: [fixture("echo-server.mjs")], env: { FIXTURE_EXIT_AFTER_MS: "400" } };
    const load = await call(h.client, "service_load", spec);
    expect(load.isError, text(load)).toBeFalsy();
    expect(await waitFor(async () => (await info(h.client, "flaky"))?.status === "crashed", 20_000)).toBe(true);
    // Every run answered its handshake (restarts counted as "restarted") before exiting 7: crashes after a start, not start failures.
    expect(await delays(h.client, "flaky")).toEqual([50, 100, 200, 400, 800]);
    const crashed = (await info(h.client, "flaky"))!;
    expect(crashed.restarts).toBe(5);
    expect(crashed.error).toMatch(/^6 failures within 120 s, last: exited \(exit code 7\); restarts stopped$/);
    const logs = text(await call(h.client, "service_logs", { name: "flaky", lines: 1000 }));
    expect(logs.match(/\[herd\] running: pid \d+/g)).toHaveLength(6);

    const again = await call(h.client, "service_restart", { name: "flaky" });
    expect(again.isError, text(again)).toBeFalsy();
    expect(await waitFor(async () => (await delays(h.client, "flaky")).length === 6, 10_000)).toBe(true);
    // The crash after the manual restart is the first of a new history: the initial delay again, and no give-up.
    expect((await delays(h.client, "flaky"))[5]).toBe(50);
    expect((await info(h.client, "flaky"))?.status).not.toBe("crashed");
  });

  it("a run longer than the stable period resets the backoff: the next crash restarts after the initial delay, not the doubled one", async () => {
    const h = await herd({ MCP_HERD_BACKOFF_START_MS: "100", MCP_HERD_BACKOFF_MAX_MS: "5000", MCP_HERD_STABLE_MS: "1000" });
    const load = await call(h.client, "service_load", { name: "steady", command: NODE, args: [fixture("echo-server.mjs")] });
    expect(load.isError, text(load)).toBeFalsy();
    for (const n of [1, 2]) {
      expect((await call(h.client, "service_call", { name: "steady", tool: "crash" })).isError).toBe(true);
      expect(await waitFor(async () => (await delays(h.client, "steady")).length === n, 5_000)).toBe(true);
      expect(await running(h.client, "steady")).toBe(true);
    }
    expect(await delays(h.client, "steady")).toEqual([100, 200]);
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await call(h.client, "service_call", { name: "steady", tool: "crash" })).isError).toBe(true);
    expect(await waitFor(async () => (await delays(h.client, "steady")).length === 3, 5_000)).toBe(true);
    expect(await delays(h.client, "steady")).toEqual([100, 200, 100]);
    expect(await running(h.client, "steady")).toBe(true);
  });

  it("service_unload of a child that ignores SIGTERM: killed with SIGKILL after the grace period, pid gone, and the operator is told", async () => {
    const h = await herd({});
    const events: LoggingMessageNotification["params"][] = [];
    h.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void events.push(n.params));
    const load = await call(h.client, "service_load", { name: "stubborn", command: NODE, args: [fixture("ignores-sigterm.mjs")] });
    expect(load.isError, text(load)).toBeFalsy();
    const pid = (load.structuredContent as { pid: number }).pid;
    expect(alive(pid)).toBe(true);
    const started = Date.now();
    const unload = await call(h.client, "service_unload", { name: "stubborn" });
    expect(unload.isError, text(unload)).toBeFalsy();
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(alive(pid)).toBe(false);
    const said = new RegExp(`pid ${pid} ignored SIGTERM for 500 ms: killed with SIGKILL`);
    expect(await waitFor(() => events.some((e) => e.logger === "service:stubborn" && e.level === "warning" && said.test(JSON.stringify(e.data))), 5_000)).toBe(true);
    expect(h.stderr()).toMatch(said);
  });

  it("a restart queued behind an unload of a service still in its first handshake refuses instead of spawning a child nobody owns", async () => {
    const h = await herd({});
    const pidFile = join(h.stateDir, "pids.txt");
    const spec = { name: "slow", command: NODE, args: [fixture("never-initializes.mjs")], env: { FIXTURE_PID_FILE: pidFile }, timeout_ms: 20_000 };
    const load = call(h.client, "service_load", spec);
    expect(await waitFor(() => pidsIn(pidFile).length === 1, 10_000)).toBe(true);
    const restart = call(h.client, "service_restart", { name: "slow" });
    const unload = await call(h.client, "service_unload", { name: "slow" });
    expect(unload.isError, text(unload)).toBeFalsy();
    expect(text(await load)).toMatch(/'slow' was stopped/);
    const r = await restart;
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/service 'slow' was stopped \(unloaded or replaced\)/);
    expect(pidsIn(pidFile)).toHaveLength(1);
    expect(pidsIn(pidFile).filter(alive)).toEqual([]);
    expect(await info(h.client, "slow")).toBeUndefined();
  });
});
