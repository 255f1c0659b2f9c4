import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { alive, allText, ROOT, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { listServices as listed } from "../helpers/replicas.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const FOLLOW = ["--follow-state"];
const FAST = { MCP_HERD_FOLLOW_POLL_MS: "200", MCP_HERD_BACKOFF_START_MS: "50", MCP_HERD_BACKOFF_MAX_MS: "200" };

async function call(herd: Herd, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await herd.client.callTool({ name, arguments: args })) as CallToolResult;
}

function lines(file: string): number {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
}

describe("replicas sharing a state folder with --follow-state converge", () => {
  let dir: string | undefined;
  const herds: Herd[] = [];
  afterEach(async () => {
    await Promise.all(herds.splice(0).map((h) => h.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function pair(envB: Record<string, string> = {}, argsB = FOLLOW): Promise<[Herd, Herd, string]> {
    dir = mkdtempSync(join(tmpdir(), "herd-scale-follow-"));
    const state = join(dir, "state");
    const [a, b] = await Promise.all([
      startHerd({ http: true, stateDir: state, args: FOLLOW, env: { ...FAST, FIXTURE_PID_FILE: join(dir, "pids-a") } }),
      startHerd({ http: true, stateDir: state, args: argsB, env: { ...FAST, FIXTURE_PID_FILE: join(dir, "pids-b"), ...envB } }),
    ]);
    herds.push(a!, b!);
    return [a!, b!, state];
  }

  it("a service loaded on A runs on B and answers there; unloaded on B, it is gone on A with its process", async () => {
    const [a, b, state] = await pair();
    const r = await call(a, "service_load", { name: "echo", command: process.execPath, args: [ECHO] });
    expect(r.isError, allText(r)).toBeFalsy();
    const pidA = (r.structuredContent as { pid: number }).pid;
    expect(await waitFor(async () => (await listed(b)).echo?.status === "running", 20_000)).toBe(true);
    const onB = await call(b, "echo__echo", { message: "from B" });
    expect(onB.isError, allText(onB)).toBeFalsy();
    expect(allText(onB)).toBe("from B");
    expect((await listed(b)).echo!.pid).not.toBe(pidA);
    expect(b.stderr()).toContain("loaded: another mcp-herd process sharing the state folder loaded it");

    const u = await call(b, "service_unload", { name: "echo" });
    expect(u.isError, allText(u)).toBeFalsy();
    expect(await waitFor(async () => !("echo" in (await listed(a))), 20_000)).toBe(true);
    expect(await waitFor(() => !alive(pidA), 10_000)).toBe(true);
    expect(a.stderr()).toContain("unloaded: another mcp-herd process sharing the state folder unloaded it");
    expect(JSON.parse(readFileSync(join(state, "state.json"), "utf8")).services).toEqual({});
    // A's own unload of it now says it is not loaded, rather than loading or resurrecting anything.
    expect((await call(a, "service_unload", { name: "echo" })).isError).toBe(true);
  }, 90_000);

  it("a burst of loads and unloads on A ends with B running exactly what the file holds, each started once", async () => {
    const [a, b, state] = await pair();
    const names = Array.from({ length: 8 }, (_, i) => `burst${i}`);
    for (const n of names) expect((await call(a, "service_load", { name: n, command: process.execPath, args: [ECHO] })).isError).toBeFalsy();
    for (const n of names.slice(0, 4)) expect((await call(a, "service_unload", { name: n })).isError).toBeFalsy();
    const want = names.slice(4);
    expect(Object.keys(JSON.parse(readFileSync(join(state, "state.json"), "utf8")).services).sort()).toEqual(want);
    const converged = async () => {
      const l = await listed(b);
      return Object.keys(l).sort().join() === want.join() && want.every((n) => l[n]!.status === "running");
    };
    expect(await waitFor(converged, 30_000)).toBe(true);
    // Nothing more happens once in step: the poll keeps re-checking, no service is restarted or added.
    const before = await listed(b);
    await new Promise((r) => setTimeout(r, 1_500));
    const after = await listed(b);
    expect(Object.keys(after).sort()).toEqual(want);
    for (const n of want) expect([after[n]!.pid, after[n]!.restarts]).toEqual([before[n]!.pid, before[n]!.restarts]);
    // B started at most one process per name it saw (a name unloaded before B looked may never have started).
    expect(lines(join(dir!, "pids-b"))).toBeLessThanOrEqual(names.length);
  }, 120_000);

  it("a service that cannot start on B is reported in B's service_list, under the restart policy, not retried on each re-read", async () => {
    // Every child B starts exits 1 ms in (A's run fine): the same record fails only on B.
    const [a, b, state] = await pair({ FIXTURE_EXIT_AFTER_MS: "1" });
    const r = await call(a, "service_load", { name: "flaky", command: process.execPath, args: [ECHO] });
    expect(r.isError, allText(r)).toBeFalsy();
    const settled = async () => {
      const s = (await listed(b)).flaky;
      return s !== undefined && (s.status === "failed" || s.status === "crashed") && !!s.error;
    };
    expect(await waitFor(settled, 30_000)).toBe(true);
    const onB = (await listed(b)).flaky!;
    const spawned = lines(join(dir!, "pids-b"));
    expect(spawned).toBeGreaterThanOrEqual(1);
    expect(spawned).toBeLessThanOrEqual(6);
    const refused = await call(b, "flaky__echo", { message: "x" });
    expect(refused.isError).toBe(true);

    // The file is rewritten (same records) and touched: B re-reads it, and starts nothing.
    const file = join(state, "state.json");
    const body = readFileSync(file, "utf8");
    for (let i = 0; i < 5; i++) {
      writeFileSync(`${file}.tmp-test`, body, { mode: 0o600 });
      renameSync(`${file}.tmp-test`, file);
      await new Promise((res) => setTimeout(res, 150));
    }
    await new Promise((res) => setTimeout(res, 1_000));
    expect(lines(join(dir!, "pids-b"))).toBe(spawned);
    const later = (await listed(b)).flaky!;
    expect([later.status, later.restarts]).toEqual([onB.status, onB.restarts]);
    expect((await listed(a)).flaky!.status).toBe("running");
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")).services)).toEqual(["flaky"]);
  }, 90_000);

  it("a process without --follow-state keeps its services as they are (opt-in), while its records stay shared", async () => {
    const [a, b, state] = await pair({}, []);
    expect((await call(a, "service_load", { name: "only-a", command: process.execPath, args: [ECHO] })).isError).toBeFalsy();
    await new Promise((res) => setTimeout(res, 1_500));
    expect(await listed(b)).toEqual({});
    expect((await call(b, "service_load", { name: "only-b", command: process.execPath, args: [ECHO] })).isError).toBeFalsy();
    expect(Object.keys(JSON.parse(readFileSync(join(state, "state.json"), "utf8")).services).sort()).toEqual(["only-a", "only-b"]);
    // A follows: it picks up B's load even though B does not follow A.
    expect(await waitFor(async () => (await listed(a))["only-b"]?.status === "running", 20_000)).toBe(true);
  }, 90_000);

  it("a corrupt state file makes a follower do nothing (no unload), and is copied aside once", async () => {
    const [a, b, state] = await pair();
    expect((await call(a, "service_load", { name: "kept", command: process.execPath, args: [ECHO] })).isError).toBeFalsy();
    expect(await waitFor(async () => (await listed(b)).kept?.status === "running", 20_000)).toBe(true);
    writeFileSync(join(state, "state.json"), "{ truncated", { mode: 0o600 });
    await new Promise((res) => setTimeout(res, 1_500));
    expect((await listed(b)).kept?.status).toBe("running");
    expect((await listed(a)).kept?.status).toBe("running");
    expect(b.stderr()).toMatch(/state file .* is not valid .*the file is kept as/);
    expect(b.stderr().match(/is not valid/g)?.length).toBe(1);
  }, 90_000);
});
