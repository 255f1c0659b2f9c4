import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { alive, fixture, NODE, text, until } from "../fixtures/services-helpers.js";

const herds: Herd[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
});
async function herd(opts: Parameters<typeof startHerd>[0] = {}): Promise<Herd> {
  const h = await startHerd({ ...opts, env: { MCP_HERD_KILL_GRACE_MS: "500", MCP_HERD_BACKOFF_START_MS: "100", ...(opts.env ?? {}) } });
  herds.push(h);
  return h;
}

/** Resident memory of a process in KiB (VmRSS in /proc/<pid>/status). */
function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}
const pidsIn = (file: string): number[] => {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
async function call(client: Client, name: string, args: Record<string, unknown>) {
  return client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 });
}
async function services(client: Client): Promise<{ name: string; status: string; pid?: number | null }[]> {
  const l = await call(client, "service_list", {});
  return (l.structuredContent as { services: { name: string; status: string; pid?: number | null }[] }).services;
}

describe("supervisor faults through the MCP client", () => {
  it("a child that never initializes, and one flooding 64 MiB of stdout without a newline, end `failed` with a clear reason; mcp-herd's memory stays bounded", async () => {
    const h = await herd();
    await call(h.client, "herd_status", {});
    const before = rssKiB(h.pid);
    const silent = await call(h.client, "service_load", { name: "silent", command: NODE, args: [fixture("never-initializes.mjs")], timeout_ms: 1_000 });
    expect(silent.isError).toBe(true);
    expect(text(silent)).toMatch(/service 'silent' did not answer during initialize within 1000 ms/);
    const flood = await call(h.client, "service_load", {
      name: "flood",
      command: NODE,
      args: [fixture("hardening/garbage-no-newline.mjs")],
      env: { GARBAGE_MB: "64" },
      timeout_ms: 3_000,
    });
    expect(flood.isError).toBe(true);
    expect(text(flood)).toMatch(/service 'flood' did not answer during initialize within 3000 ms/);
    const logs = await call(h.client, "service_logs", { name: "flood", lines: 50 });
    expect(text(logs)).toMatch(/wrote 64 MiB/);
    const list = await services(h.client);
    expect(list.find((s) => s.name === "silent")?.status).toBe("failed");
    expect(list.find((s) => s.name === "flood")?.status).toBe("failed");
    const grown = rssKiB(h.pid) - before;
    // Holding the 64 MiB line would grow RSS by more than 64 MiB; 41 MiB of allocator slack was seen once under load.
    expect(grown, `RSS grew by ${grown} KiB`).toBeLessThan(48 * 1024);
    expect((await call(h.client, "herd_status", {})).isError).toBeFalsy();
  });

  it("a grandchild-spawning service: after restart, crash and unload, both pids are gone each time", async () => {
    const h = await herd();
    const pidFile = join(h.stateDir, "pids.txt");
    const load = await call(h.client, "service_load", { name: "gc", command: NODE, args: [fixture("spawns-grandchild.mjs")], env: { FIXTURE_PID_FILE: pidFile } });
    expect(load.isError, text(load)).toBeFalsy();
    const first = pidsIn(pidFile);
    expect(first).toHaveLength(2);
    expect(first.every(alive)).toBe(true);

    const restarted = await call(h.client, "service_restart", { name: "gc" });
    expect(restarted.isError, text(restarted)).toBeFalsy();
    expect(await until(() => first.every((p) => !alive(p)), 5_000)).toBe(true);
    const second = pidsIn(pidFile).slice(2);
    expect(second).toHaveLength(2);
    expect(second.every(alive)).toBe(true);

    const crash = await call(h.client, "gc__crash", {});
    expect(crash.isError).toBe(true);
    expect(await until(() => second.every((p) => !alive(p)), 5_000)).toBe(true);
    expect(await until(() => pidsIn(pidFile).length === 6, 10_000)).toBe(true);
    expect(await until(async () => (await services(h.client)).some((s) => s.name === "gc" && s.status === "running"), 10_000)).toBe(true);
    const third = pidsIn(pidFile).slice(4);
    expect(third.every(alive)).toBe(true);

    expect((await call(h.client, "service_unload", { name: "gc" })).isError).toBeFalsy();
    expect(await until(() => third.every((p) => !alive(p)), 5_000)).toBe(true);
  });

  it.each(["service_unload", "service_load"])(
    "20 parallel load/unload/restart plus a call storm: one live child at most, none leaked, final state = the last operation (%s)",
    async (last) => {
      const h = await herd();
      const pidFile = join(h.stateDir, "race-pids.txt");
      const spec = { command: NODE, args: [fixture("echo-server.mjs")], env: { FIXTURE_PID_FILE: pidFile } };
      const op = (i: number) => {
        const kind = i === 19 ? last : ["service_load", "service_restart", "service_unload"][i % 3]!;
        return call(h.client, kind, kind === "service_load" ? { name: "race", ...spec } : { name: "race" });
      };
      // Strict: every stop (restart, replacement, unload, cancel) waits until the old tree is gone, not even a zombie,
      // before anything new is spawned, so no two children of 'race' are ever alive at once, let alone answering.
      // The pid file is read before the pids are probed: two alive answers mean one instant when both lived.
      const overlaps: number[][] = [];
      const watcher = setInterval(() => {
        const both = pidsIn(pidFile).filter(alive);
        if (both.length > 1) overlaps.push(both);
      }, 5);
      const storm = Array.from({ length: 60 }, () => call(h.client, "service_call", { name: "race", tool: "echo", arguments: { message: "m" } }));
      const ops = Array.from({ length: 20 }, (_, i) => op(i));
      const calls = await Promise.all(storm);
      await Promise.allSettled(ops);
      clearInterval(watcher);
      for (const r of calls) if (r.isError) expect(text(r)).toMatch(/'race'/);
      else expect(text(r)).toBe("m");

      const list = await services(h.client);
      const race = list.find((s) => s.name === "race");
      if (last === "service_unload") {
        expect(race).toBeUndefined();
        // service_unload answers once the tree is gone, and nothing superseded may outlive it.
        expect(pidsIn(pidFile).filter(alive)).toEqual([]);
      } else {
        expect(race?.status).toBe("running");
        expect(await until(() => pidsIn(pidFile).filter(alive).length === 1, 5_000)).toBe(true);
        expect(pidsIn(pidFile).filter(alive)).toEqual([race!.pid]);
      }
      expect(pidsIn(pidFile).length).toBeGreaterThan(3);
      expect(overlaps, `children alive together: ${JSON.stringify(overlaps.slice(0, 5))}`).toEqual([]);
    },
  );
});

describe("mcp-herd killed while running children and a foreground shell", () => {
  it.each(["SIGTERM", "SIGKILL"] as const)("%s: no process of theirs remains", async (signal) => {
    const h = await herd({ http: true });
    const pidFile = join(h.stateDir, "pids.txt");
    for (const [name, file] of [["echo", "echo-server.mjs"], ["stubborn", "ignores-sigterm.mjs"], ["gc", "spawns-grandchild.mjs"]]) {
      const r = await call(h.client, "service_load", { name, command: NODE, args: [fixture(file!)], env: { FIXTURE_PID_FILE: pidFile } });
      expect(r.isError, text(r)).toBeFalsy();
    }
    const shellPid = join(h.stateDir, "shell.pid");
    const inflight = call(h.client, "remote_shell", { host: "local", command: `sh -c 'echo $$ > "${shellPid}"; exec sleep 60' & echo $$ >> "${shellPid}.outer"; wait`, timeout: 120 }).catch(
      (e: Error) => e,
    );
    expect(await until(() => pidsIn(shellPid).length === 1 && pidsIn(`${shellPid}.outer`).length === 1, 10_000)).toBe(true);
    const pids = [...pidsIn(pidFile), ...pidsIn(shellPid), ...pidsIn(`${shellPid}.outer`)];
    expect(pids).toHaveLength(6);
    expect(pids.every(alive)).toBe(true);
    h.proc!.kill(signal);
    expect(await until(() => pids.every((p) => !alive(p)), 10_000), `alive: ${pids.filter(alive).join(" ")}`).toBe(true);
    await h.client.close();
    expect(await inflight).toBeInstanceOf(Error);
  });
});
