import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    // The child's own child runs in a group of its own: only the parent chain, read before any signal, reaches it.
    const early = join(dir, "early.pid");
    const parent = await procs.node(
      `const c = require('child_process').spawn('sleep', ['30'], { detached: true, stdio: 'ignore' }); require('fs').writeFileSync(${JSON.stringify(early)}, String(c.pid))`,
    );
    const left = await pidFromFile(early);
    procs.track(left);
    expect(await stopGroup(parent.pid, 10_000, 2_000)).toEqual({ gone: true, signal: "SIGTERM" });
    expect(await waitFor(() => !alive(left), 5_000)).toBe(true);

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
});
