import treeKill from "tree-kill";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True while any process of group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True while process `pid` exists. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalTree(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* group already gone */
  }
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

/** Stops a process group and its tree: SIGTERM, then SIGKILL after `graceMs`; resolves when gone (bounded). */
export async function killGroup(pgid: number, graceMs = 3000): Promise<boolean> {
  signalTree(pgid, "SIGTERM");
  if (await waitGone(pgid, graceMs)) return true;
  signalTree(pgid, "SIGKILL");
  return waitGone(pgid, 2000);
}
