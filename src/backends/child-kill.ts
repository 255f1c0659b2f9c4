import { readdirSync, readFileSync } from "node:fs";
import treeKill from "tree-kill";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// A zombie is dead but waits for its parent (for orphans: PID 1, which may reap slowly) to collect it.
function procStat(pid: number): { state: string; pgrp: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { state: f[0]!, pgrp: Number(f[2]) };
  } catch {
    return undefined;
  }
}

const HAVE_PROC = (() => {
  try {
    return procStat(process.pid) !== undefined;
  } catch {
    return false;
  }
})();

/** True while process `pid` exists and is not a zombie. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (!HAVE_PROC) return true;
  const st = procStat(pid);
  return st !== undefined && st.state !== "Z" && st.state !== "X";
}

/** True while any process of group `pgid` exists and is not a zombie. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (!HAVE_PROC) return true;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (st && st.pgrp === pgid && st.state !== "Z" && st.state !== "X") return true;
  }
  return false;
}

/** Sends `signal` to every process of group `pgid`; a group already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* group already gone */
  }
}

function signalTree(pgid: number, signal: NodeJS.Signals): void {
  signalGroup(pgid, signal);
  if (pidAlive(pgid)) treeKill(pgid, signal, () => {});
}

async function waitGone(pgid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!groupAlive(pgid) && !pidAlive(pgid)) return true;
    await sleep(25);
  }
  return !groupAlive(pgid) && !pidAlive(pgid);
}

/** Stops a process group and its tree: SIGTERM, then SIGKILL after `graceMs`; false if still there `confirmMs` after that. */
export async function killGroup(pgid: number, graceMs = 3000, confirmMs = 2000): Promise<boolean> {
  return (await stopGroup(pgid, graceMs, confirmMs)).gone;
}

/** killGroup that also says which signal it took, so a child that ignored SIGTERM can be reported. */
export async function stopGroup(pgid: number, graceMs = 3000, confirmMs = 2000): Promise<{ gone: boolean; signal: "SIGTERM" | "SIGKILL" }> {
  signalTree(pgid, "SIGTERM");
  if (await waitGone(pgid, graceMs)) return { gone: true, signal: "SIGTERM" };
  signalTree(pgid, "SIGKILL");
  return { gone: await waitGone(pgid, confirmMs), signal: "SIGKILL" };
}
