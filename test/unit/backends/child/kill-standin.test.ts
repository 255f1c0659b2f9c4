import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { alive, waitFor } from "../../../helpers/herd.js";
import { DetachedProcs, pidFromFile, runStandIn } from "../../../helpers/proc.js";
// Loaded here too: a mutation run (vitest "related") runs only the tests whose module graph holds the mutated file.
import "../../../../src/backends/child/kill.js";

// The branches a Linux test machine does not take by itself, taken for real in a stand-in process: one that sees
// no /proc (a mount namespace with an empty tmpfs over it), one that runs unprivileged (EPERM for root's processes).
const KILL = fileURLToPath(new URL("../../../../src/backends/child/kill.ts", import.meta.url));
const NOBODY = 65534;

let dir: string;
const procs = new DetachedProcs();
const perls: ChildProcess[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-kill-standin-"));
});
afterEach(() => {
  procs.killAll();
  for (const p of perls.splice(0)) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")) + 1;
const imp = `import { groupAlive, pidAlive, stopGroup } from ${JSON.stringify(KILL)};\n`;

/**
 * A process whose group is gone while it lives: a perl that leads a group of its own, then moves into the group of a
 * child it started (not back into ours, which a PID namespace may not show).
 */
async function leftItsGroup(): Promise<number> {
  const code =
    '$| = 1; setpgrp(0, 0); $h = fork; if (!$h) { setpgrp(0, 0); sleep 30; exit 0 } ' +
    'select(undef, undef, undef, 0.01) until getpgrp($h) == $h; setpgrp(0, $h) or die "setpgrp: $!"; print "$$ $h\\n"; sleep 30';
  const p = spawn("/usr/bin/perl", ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  perls.push(p);
  const [pid, helper] = await new Promise<number[]>((resolve, reject) => {
    p.stdout.once("data", (d: Buffer) => resolve(d.toString().trim().split(" ").map(Number)));
    p.once("exit", (code) => reject(new Error(`perl exited (${code}) before it moved: is /usr/bin/perl there?`)));
  });
  procs.track(helper!);
  return pid!;
}

describe("kill without /proc (a stand-in in a mount namespace where /proc is an empty tmpfs)", () => {
  it("groupAlive and pidAlive ask kill -0; stopGroup stops by SIGTERM, or by SIGKILL after the grace period", async () => {
    // The group's leader has a member (a sleep): without /proc, only the group's signal reaches it. The leader outlives
    // it a little and reaps it (an orphaned zombie answers kill -0 until its new parent reaps it, and a PID namespace's
    // init may not).
    const memberFile = join(dir, "member.pid");
    const live = await procs.node(
      `process.on('SIGTERM', () => setTimeout(() => process.exit(0), 200)); require('fs').writeFileSync(${JSON.stringify(memberFile)}, String(require('child_process').spawn('sleep', ['30'], { stdio: 'ignore' }).pid))`,
    );
    const member = await pidFromFile(memberFile);
    const stubborn = await procs.node("process.on('SIGTERM', () => {})");
    const run = await runStandIn(
      dir,
      imp +
        `import { existsSync } from "node:fs";\n` +
        `report({ proc: existsSync("/proc/self"), group: groupAlive(${live.pid}), pid: pidAlive(${live.pid}), noGroup: groupAlive(${pidMax}), noPid: pidAlive(${pidMax}),\n` +
        `  term: await stopGroup(${live.pid}, 3000, 2000), kill: await stopGroup(${stubborn.pid}, 300, 2000), after: [groupAlive(${live.pid}), groupAlive(${stubborn.pid})] });`,
      { hide: ["/proc"] },
    );
    expect(run.result, run.stderr).toEqual({
      proc: false,
      group: true,
      pid: true,
      noGroup: false,
      noPid: false,
      term: { gone: true, signal: "SIGTERM" },
      kill: { gone: true, signal: "SIGKILL" },
      after: [false, false],
    });
    expect(await waitFor(() => !alive(live.pid) && !alive(member) && !alive(stubborn.pid), 5_000)).toBe(true);
  }, 60_000);

  it("a stop also reaches a process that left the group it led (tree-kill's walk)", async () => {
    const left = await leftItsGroup();
    const other = await leftItsGroup();
    const run = await runStandIn(
      dir,
      imp +
        `const gone = async (p: number) => { for (let i = 0; i < 200 && pidAlive(p); i++) await new Promise((r) => setTimeout(r, 25)); return !pidAlive(p); };\n` +
        `report({ group: groupAlive(${left}), pid: pidAlive(${left}), stop: await stopGroup(${left}, 3000, 2000), gone: await gone(${left}) });`,
      { hide: ["/proc"] },
    );
    expect(run.result, run.stderr).toEqual({ group: false, pid: true, stop: { gone: true, signal: "SIGTERM" }, gone: true });
    expect(alive(other), "the other one was not touched").toBe(true);
  }, 60_000);

  it("an unprivileged caller sees root's processes alive (EPERM), without /proc and with it", async () => {
    const live = await procs.node("");
    const body = imp + `report({ group: groupAlive(${live.pid}), pid: pidAlive(${live.pid}), noGroup: groupAlive(${pidMax}), noPid: pidAlive(${pidMax}) });`;
    const want = { group: true, pid: true, noGroup: false, noPid: false };
    const bare = await runStandIn(dir, body, { hide: ["/proc"], uid: NOBODY });
    expect(bare.result, bare.stderr).toEqual(want);
    const withProc = await runStandIn(dir, body, { uid: NOBODY });
    expect(withProc.result, withProc.stderr).toEqual(want);
    // Its stop cannot signal them (EPERM is not an error): they live on, and the stop says so.
    const stop = await runStandIn(dir, imp + `report(await stopGroup(${live.pid}, 200, 200));`, { hide: ["/proc"], uid: NOBODY });
    expect(stop.result, stop.stderr).toEqual({ gone: false, signal: "SIGKILL" });
    expect(alive(live.pid)).toBe(true);
  }, 60_000);
});

describe("kill's guard against a wrong walk", () => {
  it("a stop of the caller's own group never signals the caller", async () => {
    // The stand-in leads its own group (detached): the stop finds it there, and must neither signal it nor call it gone.
    const run = await runStandIn(dir, imp + `report(await stopGroup(process.pid, 300, 300));`);
    expect(run.signal, run.stderr).toBe(null);
    expect(run.result, run.stderr).toEqual({ gone: false, signal: "SIGKILL" });
  }, 60_000);
});
