import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { unwatchGroup, watchGroup } from "../../../../src/backends/child/reaper.js";
import { newTreeMark, TREE_VAR } from "../../../../src/backends/child/tree.js";
import { alive, waitFor } from "../../../helpers/herd.js";
import { DetachedProcs, pidFromFile } from "../../../helpers/proc.js";

const REAPER = fileURLToPath(new URL("../../../../src/backends/child/reaper.ts", import.meta.url));

let dir: string;
const procs = new DetachedProcs();
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-reaper-"));
});
afterEach(() => {
  procs.killAll();
  rmSync(dir, { recursive: true, force: true });
});

const pidMax = () => Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
const ppidOf = (pid: number) => {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, "latin1");
    return Number(t.slice(t.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
};
/** The sh watchdogs this process started (their command line carries the script). */
const watchdogs = () =>
  readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e) && ppidOf(Number(e)) === process.pid)
    .map(Number)
    .filter((p) => {
      try {
        return alive(p) && readFileSync(`/proc/${p}/cmdline`, "latin1").includes("trap '' INT TERM HUP PIPE");
      } catch {
        return false;
      }
    });


describe("the sh watchdog", () => {
  it("is one process for every group, ignores SIGTERM, and is started again after it died", async () => {
    // Forgetting a group before any watchdog exists is a no-op, not a throw.
    expect(() => unwatchGroup(pidMax() + 1)).not.toThrow();
    const a = await procs.node("");
    const b = await procs.node("");
    watchGroup(a.pid);
    watchGroup(b.pid, newTreeMark());
    expect(await waitFor(() => watchdogs().length === 1, 5_000)).toBe(true);
    const [first] = watchdogs();
    // Once its trap is set (SIGTERM, signal 15, in the ignored mask), a SIGTERM does nothing to it.
    const ignoresTerm = () => (BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${first}/status`, "utf8"))![1]}`) & (1n << 14n)) !== 0n;
    expect(await waitFor(ignoresTerm, 5_000)).toBe(true);
    process.kill(first!, "SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    expect(alive(first!), "SIGTERM is ignored").toBe(true);
    unwatchGroup(a.pid);
    unwatchGroup(b.pid);
    process.kill(first!, "SIGKILL");
    expect(await waitFor(() => !alive(first!), 5_000)).toBe(true);
    // Let the exit of the old one be seen, then the next watch starts a fresh one.
    await new Promise((r) => setTimeout(r, 200));
    watchGroup(a.pid);
    expect(await waitFor(() => watchdogs().length === 1 && watchdogs()[0] !== first, 5_000)).toBe(true);
    unwatchGroup(a.pid);
    // Forgotten groups are left alone by a watchdog that is still running.
    expect(alive(a.pid) && alive(b.pid)).toBe(true);
  });

  it("when its mcp-herd is SIGKILLed with its whole group, stops every watched tree (SIGTERM, then SIGKILL) and spares a forgotten one", async () => {
    // A stubborn group (ignores SIGTERM, says it got it) with a child in a group of its own (found by parent pid).
    const termFile = join(dir, "got-term");
    const kidFile = join(dir, "kid.pid");
    const stubborn = await procs.node(
      `process.on('SIGTERM', () => require('fs').writeFileSync(${JSON.stringify(termFile)}, 'yes')); const k = require('child_process').spawn('sleep', ['30'], { detached: true, stdio: 'ignore' }); require('fs').writeFileSync(${JSON.stringify(kidFile)}, String(k.pid))`,
    );
    const kid = await pidFromFile(kidFile);
    procs.track(kid);
    // A group whose tree carries a mark, and a marked process that left it (own group, parent still alive elsewhere).
    const mark = newTreeMark();
    const marked = await procs.node("", { [TREE_VAR]: mark });
    const leaver = await procs.node("", { [TREE_VAR]: mark });
    const forgotten = await procs.node("");
    // The same calls in this process too (a fresh watchdog of this worker's, which forgets them at once), so that a
    // mutation run, which picks tests by what they run in-process, runs this test for every mutant of them.
    for (const w of watchdogs()) process.kill(w, "SIGKILL");
    expect(await waitFor(() => watchdogs().length === 0, 5_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    watchGroup(forgotten.pid, mark);
    watchGroup(forgotten.pid);
    unwatchGroup(forgotten.pid);

    // The stand-in for mcp-herd runs the reaper module (under a mutation run, the same mutant as this worker).
    const script = join(dir, "herd.mts");
    writeFileSync(
      script,
      `import { watchGroup, unwatchGroup } from ${JSON.stringify(REAPER)};\n` +
        `watchGroup(${stubborn.pid}); watchGroup(${marked.pid}, ${JSON.stringify(mark)}); watchGroup(${forgotten.pid}); unwatchGroup(${forgotten.pid});\n` +
        `setInterval(() => {}, 1 << 30); process.stdout.write("ready\\n");\n`,
    );
    const active = (globalThis as { __stryker__?: { activeMutant?: string } }).__stryker__?.activeMutant;
    const herd = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: process.cwd(),
      detached: true,
      stdio: ["ignore", "pipe", "inherit"],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...(active !== undefined ? { __STRYKER_ACTIVE_MUTANT__: String(active) } : {}) },
    });
    procs.track(herd.pid!);
    await new Promise<void>((resolve, reject) => {
      herd.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
      herd.once("exit", (code) => reject(new Error(`the stand-in mcp-herd exited (${code})`)));
    });
    const watchdog = await waitFor(() => readdirSync("/proc").some((e) => /^\d+$/.test(e) && ppidOf(Number(e)) === herd.pid && alive(Number(e))), 5_000);
    expect(watchdog, "the stand-in started its watchdog").toBe(true);
    // Let the registrations reach the watchdog before the pipe closes.
    await new Promise((r) => setTimeout(r, 300));
    process.kill(-herd.pid!, "SIGKILL");

    const watched = [stubborn.pid, kid, marked.pid, leaver.pid];
    // ~2 s expected (the SIGKILL comes 2 s after SIGTERM); 20 s is a deadline against a hang.
    expect(await waitFor(() => watched.every((p) => !alive(p)), 20_000), `alive: ${watched.filter(alive).join(" ")}`).toBe(true);
    expect(readFileSync(termFile, "utf8"), "SIGTERM came first").toBe("yes");
    expect(alive(forgotten.pid), "a forgotten group is spared").toBe(true);
  }, 60_000);
});
