import { readFileSync } from "node:fs";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { fixture, NODE, text, until } from "../fixtures/services-helpers.js";

// Issue 12, item 7: a child flooding progress and log notifications during a call. The answer
// arrives promptly, the child is not taken for hung, progress is coalesced, memory stays bounded.

const herds: Herd[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
});

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
const call = (client: Client, name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 });
async function info(client: Client, name: string): Promise<{ status: string; pid: number | null; restarts: number }> {
  const l = await call(client, "service_list", { name });
  return (l.structuredContent as { services: { status: string; pid: number | null; restarts: number }[] }).services[0]!;
}

describe("a notification flood from a child", () => {
  it("does not hold back the answer, get the child killed as hung, forward progress one by one, or balloon memory", async () => {
    // Pings every 200 ms with a 1 s bound: a flooded child whose pong waited behind the queue would be killed.
    const h = await startHerd({ env: { MCP_HERD_PING_INTERVAL_MS: "200", MCP_HERD_PING_TIMEOUT_MS: "1000" } });
    herds.push(h);
    const loaded = await call(h.client, "service_load", { name: "flood", command: NODE, args: [fixture("hardening/flood-child.mjs")], env: { FLOOD_ANSWER_MS: "1500" } });
    expect(loaded.isError, text(loaded)).toBeFalsy();
    const before = await info(h.client, "flood");
    const rssBefore = rssMiB(h.pid);
    let rssMax = rssBefore;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMiB(h.pid))), 50);

    let progress = 0;
    const t0 = Date.now();
    const r = await h.client.callTool({ name: "flood__flood", arguments: {} }, undefined, { timeout: 60_000, onprogress: () => progress++ });
    const took = Date.now() - t0;
    clearInterval(sampler);

    expect(r.isError, text(r)).toBeFalsy();
    const sent = Number(/flooded (\d+)/.exec(text(r))![1]);
    // The answer comes at ~1.5 s; 15 s is a deadline against a hang, far below the 60 s call timeout.
    expect(took, `answer after ${took} ms`).toBeLessThan(15_000);
    expect(sent, "the fixture really flooded").toBeGreaterThan(20_000);
    // ~20 a second per call after a burst of 20 (plus the final one), never one per notification.
    expect(progress, `${progress} of ~${sent / 2} progress notifications forwarded in ${took} ms`).toBeLessThanOrEqual(20 + Math.ceil((took / 1000) * 20) + 5);
    expect(progress).toBeGreaterThan(0);
    expect(rssMax - rssBefore, `RSS from ${rssBefore.toFixed(0)} to at most ${rssMax.toFixed(0)} MiB`).toBeLessThan(150);

    const after = await info(h.client, "flood");
    expect(after.status).toBe("running");
    expect(after.pid).toBe(before.pid);
    expect(after.restarts).toBe(0);
    // What was coalesced and dropped is summed up in the service's log (every 5 s while it lasts).
    let logs = "";
    const noted = await until(async () => /notification flood: \d+ notification\(s\) received; \d+ coalesced/.test((logs = text(await call(h.client, "service_logs", { name: "flood", lines: 200, stream: "stdout" })))), 10_000, 250);
    expect(noted, logs).toBe(true);
    expect(logs).not.toMatch(/killing it|restarting in/);
    expect(text(await call(h.client, "flood__echo", { message: "still here" }))).toBe("still here");
    if (process.env.FLOOD_VERBOSE) process.stderr.write(`flood: ${sent} sent, ${progress} progress forwarded, answer in ${took} ms, RSS ${rssBefore.toFixed(0)} -> max ${rssMax.toFixed(0)} MiB\n`);
  }, 60_000);
});
