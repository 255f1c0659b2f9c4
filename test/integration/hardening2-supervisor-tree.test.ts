import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { alive, fixture, NODE, text, until } from "../fixtures/services-helpers.js";

// Issue 12, item 8: grandchildren that left the child's process group (setsid, detached, setsid -f)
// are found and killed with the tree — at unload, and when mcp-herd ends by SIGTERM or SIGKILL.

const EACH = 5;
const TREE = 1 + EACH * 3;

const herds: Herd[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
});

const pidsIn = (file: string): number[] => {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const call = (client: Client, name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 });

/** mcp-herd with the setsid fixture loaded; resolves once every pid of its tree is written and alive. */
async function withTree(http: boolean): Promise<{ h: Herd; pids: number[]; pidFile: string }> {
  const h = await startHerd({ http, env: { MCP_HERD_KILL_GRACE_MS: "500" } });
  herds.push(h);
  const pidFile = join(h.stateDir, "tree-pids.txt");
  const r = await call(h.client, "service_load", { name: "tree", command: NODE, args: [fixture("hardening/setsid-tree.mjs")], env: { FIXTURE_PID_FILE: pidFile, SETSID_EACH: String(EACH) } });
  expect(r.isError, text(r)).toBeFalsy();
  expect(await until(() => pidsIn(pidFile).length === TREE, 10_000), `pids: ${pidsIn(pidFile).join(" ")}`).toBe(true);
  const pids = pidsIn(pidFile);
  expect(pids.every(alive), `not alive: ${pids.filter((p) => !alive(p)).join(" ")}`).toBe(true);
  // None of the grandchildren is in the child's process group any more.
  const pgrp = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[2]);
  expect(pids.slice(1).filter((p) => pgrp(p) === pids[0])).toEqual([]);
  return { h, pids, pidFile };
}

describe("setsid grandchildren die with their service's tree", () => {
  it("service_unload kills the child and every grandchild that left its group, even one ignoring SIGTERM", async () => {
    const { h, pids } = await withTree(false);
    const r = await call(h.client, "service_unload", { name: "tree" });
    expect(r.isError, text(r)).toBeFalsy();
    expect(await until(() => pids.every((p) => !alive(p)), 5_000), `alive after unload: ${pids.filter(alive).join(" ")}`).toBe(true);
    expect((await call(h.client, "herd_status", {})).isError).toBeFalsy();
  });

  it("service_restart kills the old tree, and unload the new one", async () => {
    const { h, pids, pidFile } = await withTree(false);
    const r = await call(h.client, "service_restart", { name: "tree" });
    expect(r.isError, text(r)).toBeFalsy();
    expect(await until(() => pids.every((p) => !alive(p)), 5_000), `alive after restart: ${pids.filter(alive).join(" ")}`).toBe(true);
    expect(await until(() => pidsIn(pidFile).length === 2 * TREE, 10_000)).toBe(true);
    const fresh = pidsIn(pidFile).slice(TREE);
    expect(fresh.every(alive)).toBe(true);
    expect((await call(h.client, "service_unload", { name: "tree" })).isError).toBeFalsy();
    expect(await until(() => fresh.every((p) => !alive(p)), 5_000), `alive after unload: ${fresh.filter(alive).join(" ")}`).toBe(true);
  });

  it.each(["SIGTERM", "SIGKILL"] as const)("mcp-herd ended by %s: no pid of the tree remains", async (signal) => {
    const { h, pids } = await withTree(true);
    h.proc!.kill(signal);
    expect(await until(() => pids.every((p) => !alive(p)), 10_000), `alive after ${signal}: ${pids.filter(alive).join(" ")}`).toBe(true);
  });
});
