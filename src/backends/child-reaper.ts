import { spawn, type ChildProcess } from "node:child_process";

// Runs in its own process group; holds a pipe from mcp-herd. When that pipe closes (mcp-herd
// exited, even by SIGKILL) it kills every process group still registered, then exits.
const REAPER_SOURCE = `
const groups = new Set();
for (const s of ["SIGINT", "SIGTERM", "SIGHUP", "SIGPIPE"]) process.on(s, () => {});
let buf = "";
const kill = (sig) => { for (const g of groups) { try { process.kill(-g, sig); } catch { groups.delete(g); } } };
const alive = () => { for (const g of groups) { try { process.kill(-g, 0); } catch { groups.delete(g); } } return groups.size; };
let done = false;
const finish = () => {
  if (done) return; done = true;
  kill("SIGTERM");
  const until = Date.now() + 2000;
  const t = setInterval(() => {
    if (alive() === 0) { clearInterval(t); process.exit(0); }
    if (Date.now() > until) { kill("SIGKILL"); clearInterval(t); setTimeout(() => process.exit(0), 100); }
  }, 50);
};
process.stdin.on("data", (d) => {
  buf += d.toString("utf8");
  let i;
  while ((i = buf.indexOf("\\n")) !== -1) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const pid = Number(line.slice(1));
    if (!Number.isInteger(pid) || pid <= 1) continue;
    if (line[0] === "+") groups.add(pid); else if (line[0] === "-") groups.delete(pid);
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

/** Registers a child's process group so that it is killed when mcp-herd dies for any reason. */
export function watchGroup(pgid: number): void {
  ensureReaper()?.stdin?.write(`+${pgid}\n`);
}

/** Forgets a process group once it is gone (so a reused id is never killed). */
export function unwatchGroup(pgid: number): void {
  if (reaper?.stdin?.writable) reaper.stdin.write(`-${pgid}\n`);
}
