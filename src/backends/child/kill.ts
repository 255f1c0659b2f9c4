import { readdirSync, readFileSync } from "node:fs";
import treeKill from "tree-kill";
import { findTree, listProcs, readProc } from "./tree.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const fs = { readdirSync, readFileSync };
const HAVE_PROC = readProc(fs, process.pid) !== undefined;

// A zombie is dead but waits for its parent (for orphans: PID 1, which may reap slowly) to collect it: readProc leaves it out.
/** True while process `pid` exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  if (HAVE_PROC) return readProc(fs, pid) !== undefined;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True while any process of group `pgid` exists and is not a zombie. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !HAVE_PROC || listProcs(fs).some((p) => p.pgrp === pgid);
}

/** Sends `signal` to every process of group `pgid`; a group already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* group already gone */
  }
}

// mcp-herd and the processes above it (the client that started it, up to init): a stop never signals them, whatever a walk found.
// The walk ends at 0 (init's parent, or a parent outside our PID namespace; kept too: group 0 is our own), and a pid seen
// twice (a cycle that pid reuse during the walk could make) ends it as well.
function selfAndAncestors(): Set<number> {
  const out = new Set<number>();
  for (let pid = process.pid; !out.has(pid); pid = readProc(fs, pid)?.ppid ?? 0) out.add(pid);
  return out;
}

function signalAll(pgid: number, pids: Iterable<number>, signal: NodeJS.Signals): void {
  const keep = selfAndAncestors();
  if (!keep.has(pgid)) signalGroup(pgid, signal);
  for (const pid of pids) {
    // Stryker disable next-line all: equivalent, the walk (findTree) already leaves out the same pids: a guard against a wrong walk
    if (keep.has(pid)) continue;
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

// What a stop must reach besides the group: what left it, by parent pid or by the tree's mark ([] without /proc: tree-kill's walk).
function treeOf(pgid: number, mark: string | undefined): number[] {
  return findTree(fs, [pgid], mark ? [mark] : [], [...selfAndAncestors()]);
}

async function waitGone(pgid: number, pids: Set<number>, mark: string | undefined, ms: number, signal: NodeJS.Signals): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (!groupAlive(pgid) && ![...pids].some(pidAlive)) {
      // Something may have been started during the grace period: look once more before calling it gone.
      const late = treeOf(pgid, mark);
      if (late.length === 0) return true;
      for (const p of late) pids.add(p);
      signalAll(pgid, late, signal);
    }
    if (Date.now() >= until) return false;
    await sleep(25);
  }
}

/** Stops a process group and its tree: SIGTERM, then SIGKILL after `graceMs`; false if still there `confirmMs` after that. */
export async function killGroup(pgid: number, graceMs = 3000, confirmMs = 2000, mark?: string): Promise<boolean> {
  return (await stopGroup(pgid, graceMs, confirmMs, mark)).gone;
}

/**
 * killGroup that also says which signal it took, so a child that ignored SIGTERM can be reported.
 * The tree is read before any signal (a dead parent's children are reparented); `mark` finds the
 * processes that left both the group and the parent chain (`setsid`, double fork).
 */
export async function stopGroup(pgid: number, graceMs = 3000, confirmMs = 2000, mark?: string): Promise<{ gone: boolean; signal: "SIGTERM" | "SIGKILL" }> {
  const pids = new Set(treeOf(pgid, mark));
  if (!HAVE_PROC && pidAlive(pgid)) treeKill(pgid, "SIGTERM", () => {});
  signalAll(pgid, pids, "SIGTERM");
  // A stopped process (SIGSTOP) acts on SIGTERM only once continued.
  signalAll(pgid, pids, "SIGCONT");
  if (await waitGone(pgid, pids, mark, graceMs, "SIGTERM")) return { gone: true, signal: "SIGTERM" };
  for (const p of treeOf(pgid, mark)) pids.add(p);
  if (!HAVE_PROC && pidAlive(pgid)) treeKill(pgid, "SIGKILL", () => {});
  signalAll(pgid, pids, "SIGKILL");
  return { gone: await waitGone(pgid, pids, mark, confirmMs, "SIGKILL"), signal: "SIGKILL" };
}
