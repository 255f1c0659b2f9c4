import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { findTree, newTreeMark, TREE_VAR, type ProcFs } from "../../../../src/backends/child/tree.js";
import { waitFor } from "../../../helpers/herd.js";
import { procState, zombieGroup } from "../../../helpers/proc.js";

// findTree over the real /proc, with real processes: what it must find, and what it must leave out.
const fs: ProcFs = { readdirSync, readFileSync };
const procs: ChildProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill("SIGKILL");
});

function sleeper(env: NodeJS.ProcessEnv, detached = true): ChildProcess & { pid: number } {
  const p = spawn("sleep", ["30"], { detached, stdio: "ignore", env });
  procs.push(p);
  return p as ChildProcess & { pid: number };
}
const ownGroup = () => {
  const t = readFileSync("/proc/self/stat", "latin1");
  return Number(t.slice(t.lastIndexOf(")") + 2).split(" ")[2]);
};

describe("findTree edges", () => {
  it("returns real pids only: a group's members (also one named by its pid alone), never /proc/self", () => {
    const inOurGroup = sleeper({ PATH: process.env.PATH }, false);
    const mine = findTree(fs, [ownGroup()], [], []);
    expect(mine).toContain(process.pid);
    expect(mine.every((p) => Number.isInteger(p) && p > 0)).toBe(true);
    // A process in our group, named by its pid: found by pid, though its group is not listed.
    expect(findTree(fs, [inOurGroup.pid], [], [])).toEqual([inOurGroup.pid]);
  });

  it("finds a mark only as a whole variable: first or later in the environment, not inside another name or value", async () => {
    const mark = newTreeMark();
    const first = sleeper({ [TREE_VAR]: mark });
    const later = sleeper({ A: "1", [TREE_VAR]: mark });
    const otherName = sleeper({ A: "1", [`X${TREE_VAR}`]: mark });
    const longer = sleeper({ [TREE_VAR]: `${mark}00` });
    expect(await waitFor(() => [first, later, otherName, longer].every((p) => procState(p.pid) === "S"), 5_000)).toBe(true);
    expect(findTree(fs, [], [mark], []).sort()).toEqual([first.pid, later.pid].sort());
  });

  it("leaves out a zombie member and an excluded descendant, and finds every child of a parent", async () => {
    const { zombie, parent: perl } = await zombieGroup();
    procs.push(perl);
    expect(findTree(fs, [zombie], [], [])).toEqual([]);

    // A node group whose two children run in groups of their own: both found by parent pid, unless excluded.
    const parent = spawn(
      process.execPath,
      ["-e", "const s = () => require('child_process').spawn('sleep', ['30'], { detached: true, stdio: 'ignore' }).pid; console.log(s(), s()); setInterval(() => {}, 1 << 30)"],
      { detached: true, stdio: ["ignore", "pipe", "ignore"] },
    );
    procs.push(parent);
    const kids = await new Promise<number[]>((r) => parent.stdout!.once("data", (d: Buffer) => r(d.toString().trim().split(" ").map(Number))));
    try {
      expect(findTree(fs, [parent.pid!], [], []).sort()).toEqual([parent.pid!, ...kids].sort());
      expect(findTree(fs, [parent.pid!], [], [kids[0]!]).sort()).toEqual([parent.pid!, kids[1]!].sort());
    } finally {
      for (const k of kids) process.kill(k, "SIGKILL");
    }
  });

  it("without /proc it finds nothing; a process whose environment cannot be read is found by its group only", () => {
    const noProc: ProcFs = { readdirSync: () => readdirSync("/nonexistent-proc"), readFileSync };
    expect(findTree(noProc, [ownGroup()], [newTreeMark()], [])).toEqual([]);
    const mark = newTreeMark();
    const marked = sleeper({ [TREE_VAR]: mark });
    // As for a user who may read /proc/PID/stat but not another user's environ.
    const noEnviron: ProcFs = { readdirSync, readFileSync: (p: string) => readFileSync(p.endsWith("/environ") ? "/nonexistent-environ" : p) };
    expect(findTree(noEnviron, [marked.pid], [mark], [])).toEqual([marked.pid]);
    expect(findTree(noEnviron, [], [mark], [])).toEqual([]);
  });
});
