import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { groupAlive, killGroup, signalGroup, stopGroup } from "../../../../src/backends/child/kill.js";
import { newTreeMark, TREE_VAR } from "../../../../src/backends/child/tree.js";
import { alive, waitFor } from "../../../helpers/herd.js";
import { DetachedProcs, pidFromFile, procState, zombieGroup } from "../../../helpers/proc.js";

// Real processes in their own groups: node children that print "ready" once their signal handlers are set.
let dir: string;
const procs = new DetachedProcs();
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-kill-"));
});
afterEach(() => {
  procs.killAll();
  rmSync(dir, { recursive: true, force: true });
});

const KILL = fileURLToPath(new URL("../../../../src/backends/child/kill.ts", import.meta.url));
const readFileSafe = (file: string) => {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return "";
  }
};
const pidMax = () => Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));

describe("groupAlive", () => {
  it("is true while a member lives, false when only a zombie is left, and false for a group that never existed", async () => {
    const live = await procs.node("");
    expect(groupAlive(live.pid)).toBe(true);
    const { zombie, parent } = await zombieGroup();
    try {
      expect(groupAlive(zombie)).toBe(false);
      // Stopping a group whose only member is a zombie is done at once, by SIGTERM.
      expect(await stopGroup(zombie, 5_000, 5_000)).toEqual({ gone: true, signal: "SIGTERM" });
    } finally {
      parent.kill("SIGKILL");
    }
    expect(groupAlive(pidMax() + 1)).toBe(false);
    // signalGroup reaches every member of the group, not only its leader.
    const memberFile = join(dir, "member.pid");
    const withMember = await procs.node(`const c = require('child_process').spawn('sleep', ['30'], { stdio: 'ignore' }); require('fs').writeFileSync(${JSON.stringify(memberFile)}, String(c.pid))`);
    const member = await pidFromFile(memberFile);
    signalGroup(withMember.pid, "SIGKILL");
    expect(await waitFor(() => !alive(member) && !alive(withMember.pid), 5_000)).toBe(true);
    signalGroup(live.pid, "SIGKILL");
    expect(await waitFor(() => !groupAlive(live.pid), 5_000)).toBe(true);
    // Signalling a group that is gone is not an error.
    expect(() => signalGroup(live.pid, "SIGTERM")).not.toThrow();
  });
});

describe("stopGroup", () => {
  it("stops a child that exits on SIGTERM, even a slow one, with SIGTERM", async () => {
    const slow = await procs.node("process.on('SIGTERM', () => setTimeout(() => process.exit(0), 300))");
    // Expected ~0.3 s; the 10 s grace only bounds a hang.
    expect(await stopGroup(slow.pid, 10_000, 2_000)).toEqual({ gone: true, signal: "SIGTERM" });
    expect(alive(slow.pid)).toBe(false);
  });

  it("kills a child that ignores SIGTERM with SIGKILL once the grace period is over, without blocking the event loop", async () => {
    const stubborn = await procs.node("process.on('SIGTERM', () => {})");
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const t0 = Date.now();
    const r = await stopGroup(stubborn.pid, 500, 5_000);
    clearInterval(timer);
    expect(r).toEqual({ gone: true, signal: "SIGKILL" });
    // It waited out the grace period (a lower bound, not a speed claim), and timers ran meanwhile.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(ticks).toBeGreaterThan(0);
    expect(alive(stubborn.pid)).toBe(false);
    expect(await killGroup(stubborn.pid, 500, 1_000)).toBe(true);
  });

  it("continues a stopped (SIGSTOP) child so that it can act on SIGTERM", async () => {
    const paused = await procs.node("process.on('SIGTERM', () => process.exit(0))");
    process.kill(paused.pid, "SIGSTOP");
    expect(await waitFor(() => procState(paused.pid) === "T", 5_000)).toBe(true);
    expect(await stopGroup(paused.pid, 10_000, 2_000)).toEqual({ gone: true, signal: "SIGTERM" });
  });

  it("stops what left the group before the stop (by parent pid) and what was started during the grace period (by the mark)", async () => {
    // The child's own child runs in a group of its own and ignores SIGTERM: only the parent chain, read before any
    // signal, reaches it, and the stop is not over until it is gone (SIGKILL after the grace period).
    const early = join(dir, "early.pid");
    const parent = await procs.node(
      `const c = require('child_process').spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1 << 30)"], { detached: true, stdio: 'ignore' }); require('fs').writeFileSync(${JSON.stringify(early)}, String(c.pid))`,
    );
    const left = await pidFromFile(early);
    procs.track(left);
    await new Promise((r) => setTimeout(r, 300));
    expect(await stopGroup(parent.pid, 500, 5_000)).toEqual({ gone: true, signal: "SIGKILL" });
    expect(alive(left), "the stubborn child that left the group").toBe(false);

    // On SIGTERM this child starts a detached sleep (a new session, reparented once the child exits), then exits:
    // only its mark finds that sleep, in the look the stop takes before calling the tree gone.
    const late = join(dir, "late.pid");
    const mark = newTreeMark();
    const spawner = await procs.node(
      `process.on('SIGTERM', () => { const c = require('child_process').spawn('sleep', ['30'], { detached: true, stdio: 'ignore' }); require('fs').writeFileSync(${JSON.stringify(late)}, String(c.pid)); setTimeout(() => process.exit(0), 100) })`,
      { [TREE_VAR]: mark },
    );
    expect(await stopGroup(spawner.pid, 10_000, 5_000, mark)).toEqual({ gone: true, signal: "SIGTERM" });
    const lateSleep = await pidFromFile(late);
    procs.track(lateSleep);
    expect(alive(lateSleep), "the sleep started during the grace period").toBe(false);
  });

  it("a member that dies but is never reaped (a zombie under a parent that does not wait) counts as gone", async () => {
    // perl forks a child that makes its own group and sleeps; perl never reaps it, so SIGTERM leaves a zombie.
    const perl = spawn("/usr/bin/perl", ["-e", '$| = 1; $p = fork; if (!$p) { setpgrp(0, 0); exec "sleep", "30" } print "$p\\n"; sleep 60'], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const child = await new Promise<number>((r) => perl.stdout.once("data", (d: Buffer) => r(Number(d.toString().trim()))));
      expect(await waitFor(() => procState(child) === "S", 5_000)).toBe(true);
      expect(await stopGroup(child, 5_000, 2_000)).toEqual({ gone: true, signal: "SIGTERM" });
      expect(procState(child)).toBe("Z");
    } finally {
      perl.kill("SIGKILL");
    }
  });

  it("a group whose leader has exited is alive while another member lives", async () => {
    const kidFile = join(dir, "member.pid");
    // The leader starts a member of its own group (not detached) and exits.
    const leader = spawn(process.execPath, ["-e", `const c = require('child_process').spawn('sleep', ['30'], { stdio: 'ignore' }); require('fs').writeFileSync(${JSON.stringify(kidFile)}, String(c.pid)); c.unref()`], {
      detached: true,
      stdio: "ignore",
    });
    procs.track(leader.pid!);
    const member = await pidFromFile(kidFile);
    await new Promise<void>((r) => (leader.exitCode !== null ? r() : leader.once("exit", () => r())));
    expect(groupAlive(leader.pid!)).toBe(true);
    expect(await stopGroup(leader.pid!, 5_000, 2_000)).toEqual({ gone: true, signal: "SIGTERM" });
    expect(alive(member)).toBe(false);
  });

  it("never signals the caller's own ancestors, even when they carry the tree's mark", async () => {
    // A marked parent starts a child (the caller, running this module) that stops a marked group of its own:
    // the mark also finds the caller's parent, which must be left alone and not waited for.
    // The same stop in this process first, so that a mutation run (which picks tests by what they run in-process)
    // runs this test for every mutant of the stop.
    const warm = await procs.node("");
    expect(await stopGroup(warm.pid, 2_000, 2_000)).toEqual({ gone: true, signal: "SIGTERM" });
    const mark = newTreeMark();
    const script = join(dir, "caller.mts");
    writeFileSync(
      script,
      `import { spawn } from "node:child_process";\nimport { stopGroup } from ${JSON.stringify(KILL)};\n` +
        `const b = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });\n` +
        `await new Promise((r) => setTimeout(r, 200));\n` +
        `process.stdout.write(JSON.stringify(await stopGroup(b.pid, 2000, 2000, ${JSON.stringify(mark)})) + "\\n");\n`,
    );
    const active = (globalThis as { __stryker__?: { activeMutant?: string } }).__stryker__?.activeMutant;
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, [TREE_VAR]: mark, ...(active !== undefined ? { __STRYKER_ACTIVE_MUTANT__: String(active) } : {}) };
    const outFile = join(dir, "caller.out");
    // The marked parent runs the caller and keeps living after it.
    const parent = await procs.node(
      `const c = require('child_process').spawn(process.execPath, ['--import', 'tsx', ${JSON.stringify(script)}], { cwd: ${JSON.stringify(process.cwd())}, stdio: ['ignore', 'pipe', 'inherit'] }); let o = ''; c.stdout.on('data', (d) => (o += d)); c.on('exit', () => require('fs').writeFileSync(${JSON.stringify(outFile)}, o))`,
      env,
    );
    expect(await waitFor(() => readFileSafe(outFile) !== "", 20_000), "the caller reported").toBe(true);
    expect(JSON.parse(readFileSafe(outFile))).toEqual({ gone: true, signal: "SIGTERM" });
    expect(alive(parent.pid), "the caller's marked parent").toBe(true);
  }, 30_000);
});
