import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { alive, waitFor } from "../../../helpers/herd.js";
import { DetachedProcs, pidFromFile, runStandIn } from "../../../helpers/proc.js";
import { newTreeMark } from "../../../../src/backends/child/tree.js";
// Loaded here too: a mutation run (vitest "related") runs only the tests whose module graph holds the mutated file.
import "../../../../src/backends/child/kill.js";

// The branches a Linux test machine does not take by itself, taken for real in a stand-in process: one that sees
// no /proc (a mount namespace with an empty tmpfs over it), one that runs unprivileged (EPERM for root's processes).
const KILL = fileURLToPath(new URL("../../../../src/backends/child/kill.ts", import.meta.url));
const NOBODY = 65534;

let dir: string;
const procs = new DetachedProcs();
const perls: ChildProcess[] = [];
const flags: string[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-kill-standin-"));
});
afterEach(() => {
  procs.killAll();
  for (const p of perls.splice(0)) p.kill("SIGKILL");
  for (const f of flags.splice(0)) rmSync(f, { force: true });
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

  it("a leader that left its group and ignores SIGTERM gets tree-kill's SIGKILL, while a member that ignores it keeps the group alive", async () => {
    // A perl keeper forks both (so it, not a PID namespace's init, reaps them), then moves them: the member into the
    // leader's group, the leader into the keeper's. Both ignore SIGTERM: the group outlives the grace period, and only
    // tree-kill's SIGKILL of the leader's pid reaches the leader.
    const code =
      '$| = 1; setpgrp(0, 0); $SIG{TERM} = "IGNORE"; $l = fork; if (!$l) { sleep 30; exit 0 } $m = fork; if (!$m) { sleep 30; exit 0 } ' +
      '$SIG{TERM} = "DEFAULT"; setpgrp($l, $l) && setpgrp($m, $l) && setpgrp($l, $$) or die "setpgrp: $!"; print "$l $m\\n"; 1 while wait != -1; sleep 30';
    const keeper = spawn("/usr/bin/perl", ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    perls.push(keeper);
    const [leader, member] = await new Promise<number[]>((resolve, reject) => {
      keeper.stdout.once("data", (d: Buffer) => resolve(d.toString().trim().split(" ").map(Number)));
      keeper.once("exit", (code) => reject(new Error(`perl exited (${code}) before it moved them: is /usr/bin/perl there?`)));
    });
    procs.track(leader!);
    procs.track(keeper.pid!);
    const run = await runStandIn(
      dir,
      imp +
        `const gone = async (p: number) => { for (let i = 0; i < 200 && pidAlive(p); i++) await new Promise((r) => setTimeout(r, 25)); return !pidAlive(p); };\n` +
        `report({ group: groupAlive(${leader}), stop: await stopGroup(${leader}, 300, 5000), gone: await gone(${leader}) });`,
      { hide: ["/proc"] },
    );
    expect(run.result, run.stderr).toEqual({ group: true, stop: { gone: true, signal: "SIGKILL" }, gone: true });
    expect(await waitFor(() => !alive(leader!) && !alive(member!), 5_000)).toBe(true);
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

describe("kill's look for processes started during the confirm wait", () => {
  it("a process started after the SIGKILL, while the tree is still there, is found by the mark and gets SIGKILL too", async () => {
    // The stop runs as nobody, so it cannot signal the root-owned group leader (EPERM): the group outlives the SIGKILL.
    // Well after the grace period the leader starts a process that carries the mark, runs as nobody and ignores SIGTERM
    // (in a session of its own), then exits: the last look before calling the tree gone finds it, and only a SIGKILL ends it.
    const mark = newTreeMark();
    const flag = `${dir}.flag`;
    flags.push(flag);
    const latePid = join(dir, "late.pid");
    const code =
      'use POSIX; $| = 1; ($flag, $mark, $out) = @ARGV; setpgrp(0, 0); print "ready\\n"; select(undef, undef, undef, 0.02) until -e $flag; select(undef, undef, undef, 2); ' +
      '$z = fork; if (!$z) { POSIX::setsid(); $SIG{TERM} = "IGNORE"; POSIX::setgid(65534); POSIX::setuid(65534); $ENV{MCP_HERD_TREE} = $mark; exec "sleep", "30"; exit 1 } ' +
      'select(undef, undef, undef, 0.01) until readlink("/proc/$z/exe") =~ /sleep/; open(F, ">", $out); print F "$z"; close(F)';
    const leader = spawn("/usr/bin/perl", ["-e", code, flag, mark, latePid], { stdio: ["ignore", "pipe", "inherit"], env: { PATH: process.env.PATH } });
    perls.push(leader);
    await new Promise<void>((resolve, reject) => {
      leader.stdout.once("data", () => resolve());
      leader.once("exit", (code) => reject(new Error(`perl exited (${code}) before it was ready: is /usr/bin/perl there?`)));
    });
    const run = await runStandIn(
      dir,
      imp + `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(flag)}, "");\nreport(await stopGroup(${leader.pid}, 300, 10000, ${JSON.stringify(mark)}));`,
      { uid: NOBODY },
    );
    const late = await pidFromFile(latePid);
    procs.track(late);
    expect(run.result, run.stderr).toEqual({ gone: true, signal: "SIGKILL" });
    expect(alive(late), "the process started during the confirm wait").toBe(false);
  }, 60_000);
});
