import { spawn, type ChildProcess } from "node:child_process";
import { findTree } from "./child-tree.js";

// Runs in its own process group; holds a pipe from mcp-herd. When that pipe closes (mcp-herd
// exited, even by SIGKILL) it kills every tree still registered — the group, what carries the
// tree's mark, their descendants by parent pid — then exits.
const REAPER_SOURCE = `
const fs = require("node:fs");
const findTree = ${findTree.toString()};
const groups = new Map();
for (const s of ["SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE"]) process.on(s, () => {});
let buf = "";
const targets = () => findTree(fs, [...groups.keys()], [...groups.values()].filter(Boolean), [process.pid]);
const kill = (pids, sig) => {
  for (const g of groups.keys()) { try { process.kill(-g, sig); } catch {} }
  for (const p of pids) { try { process.kill(p, sig); } catch {} }
};
let done = false;
const finish = () => {
  if (done) return; done = true;
  kill(targets(), "SIGTERM");
  kill([], "SIGCONT");
  const until = Date.now() + 2000;
  const t = setInterval(() => {
    const left = targets();
    if (left.length === 0) { clearInterval(t); process.exit(0); }
    if (Date.now() > until) { kill(left, "SIGKILL"); clearInterval(t); setTimeout(() => process.exit(0), 100); }
  }, 100);
};
process.stdin.on("data", (d) => {
  buf += d.toString("utf8");
  let i;
  while ((i = buf.indexOf("\\n")) !== -1) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const [id, mark] = line.slice(1).split(" ");
    const pid = Number(id);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    if (line[0] === "+") groups.set(pid, /^[0-9a-f]{1,64}$/.test(mark || "") ? mark : ""); else if (line[0] === "-") groups.delete(pid);
  }
});
process.stdin.on("end", finish);
process.stdin.on("error", finish);
process.stdin.on("close", finish);
`;

let reaper: ChildProcess | undefined;

function ensureReaper(): ChildProcess | undefined {
  if (reaper && reaper.exitCode === null && reaper.signalCode === null && reaper.stdin?.writable) return reaper;
  const child = spawn(process.execPath, ["--max-old-space-size=16", "-e", REAPER_SOURCE], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
    env: {},
  });
  child.on("error", () => {});
  child.stdin?.on("error", () => {});
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  reaper = child;
  return child;
}

/** Registers a child's process group (and its tree's mark, see child-tree) so that it is killed when mcp-herd dies for any reason. */
export function watchGroup(pgid: number, mark?: string): void {
  ensureReaper()?.stdin?.write(mark ? `+${pgid} ${mark}\n` : `+${pgid}\n`);
}

/** Forgets a process group once it is gone (so a reused id is never killed). */
export function unwatchGroup(pgid: number): void {
  if (reaper?.stdin?.writable) reaper.stdin.write(`-${pgid}\n`);
}
