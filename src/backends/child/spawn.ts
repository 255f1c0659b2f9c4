import type { ChildProcess } from "node:child_process";
import spawn from "cross-spawn";
import { stopGroup } from "./kill.js";
import { unwatchGroup, watchGroup } from "./reaper.js";
import { newTreeMark, TREE_VAR } from "./tree.js";

/** What a stdio child is started with. */
export interface ChildCommand {
  command: string;
  args: string[];
  cwd?: string;
  /** The child's complete environment (see childEnv); its tree's mark is added. */
  env: Record<string, string>;
}

/** Spawns a child the one way every stdio child is: its own process group, its tree's mark in its environment, registered with the watchdog. */
export function spawnChild(c: ChildCommand, mark: string): ChildProcess {
  const proc = spawn(c.command, c.args, {
    cwd: c.cwd,
    env: { ...c.env, [TREE_VAR]: mark },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
    shell: false,
    windowsHide: true,
  });
  if (proc.pid !== undefined) watchGroup(proc.pid, mark);
  return proc;
}

interface Seen {
  spawn?: true;
  error?: Error;
  exit?: [number | null, NodeJS.Signals | null];
}

interface Early {
  proc: ChildProcess;
  mark: string;
  seen: Seen;
  detach(): void;
}

const waiting = new Map<string, Early[]>();
let adopted = 0;

// Two starts are the same when everything the process sees is the same.
function keyOf(c: ChildCommand): string {
  const env = Object.entries(c.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([c.command, c.args, c.cwd ?? null, env]);
}

/** Starts a child ahead of its transport (see start-early.ts); until taken, what happens to it is recorded. */
export function spawnEarly(c: ChildCommand): void {
  const mark = newTreeMark();
  const proc = spawnChild(c, mark);
  const seen: Seen = {};
  const onSpawn = () => void (seen.spawn = true);
  const onError = (e: Error) => void (seen.error = e);
  const onExit = (code: number | null, signal: NodeJS.Signals | null) => void (seen.exit = [code, signal]);
  const quiet = () => {};
  proc.on("spawn", onSpawn).on("error", onError).on("exit", onExit);
  for (const s of [proc.stdin, proc.stdout, proc.stderr]) s?.on("error", quiet);
  const detach = () => {
    proc.off("spawn", onSpawn).off("error", onError).off("exit", onExit);
    proc.stdin?.off("error", quiet);
    proc.stdout?.off("error", quiet);
  };
  const key = keyOf(c);
  waiting.set(key, [...(waiting.get(key) ?? []), { proc, mark, seen, detach }]);
}

/** An early child started with exactly this command, arguments, folder and environment; `replay` hands its new owner the events it missed. */
export function takeEarly(c: ChildCommand): { proc: ChildProcess; mark: string; replay(): void } | undefined {
  const key = keyOf(c);
  const list = waiting.get(key);
  const e = list?.shift();
  if (!e) return undefined;
  if (!list!.length) waiting.delete(key);
  e.detach();
  adopted++;
  const seen = { ...e.seen };
  return {
    proc: e.proc,
    mark: e.mark,
    replay: () => {
      if (seen.spawn) e.proc.emit("spawn");
      if (seen.error) e.proc.emit("error", seen.error);
      if (seen.exit) e.proc.emit("exit", ...seen.exit);
    },
  };
}

/** Stops every early child nobody took (its service was not started after all, or with another command or environment). */
export async function discardEarly(): Promise<{ adopted: number; stopped: number }> {
  const left = [...waiting.values()].flat();
  waiting.clear();
  await Promise.all(
    left.map(async (e) => {
      e.detach();
      const pid = e.proc.pid;
      if (pid === undefined) return;
      e.proc.stdin?.end();
      const { gone } = await stopGroup(pid, 3000, 2000, e.mark);
      if (gone) unwatchGroup(pid);
    }),
  );
  return { adopted, stopped: left.length };
}
