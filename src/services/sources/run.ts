import type { ChildProcess } from "node:child_process";
import { signalGroup } from "../../backends/child/kill.js";
import { SpawnError, spawnStarted } from "../../util/spawn.js";

export interface RunOptions {
  cwd?: string;
  /** Full environment of the installer (not merged again). */
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** The bound to name in the timeout message when timeoutMs is what remains of a larger one. */
  boundMs?: number;
  signal?: AbortSignal;
  /** Each output line (stdout and stderr), as it arrives. */
  onLine?: (line: string) => void;
  /** What to call it in errors, e.g. "npm install of 'x'". */
  what: string;
}

export interface RunResult {
  lines: string[];
  ms: number;
}

const TAIL = 20;
const KILL_GRACE_MS = 2_000;
const DRAIN_MS = 2_000;

/** An installer failed, timed out or was cancelled; the message carries its last output lines. */
export class InstallError extends Error {
  override readonly name = "InstallError";
  constructor(
    message: string,
    readonly tail: string[],
  ) {
    super(tail.length ? `${message}\n--- last ${tail.length} output lines ---\n${tail.join("\n")}` : message);
  }
}

/** Runs one installer in its own process group with a bound; on timeout or abort the whole tree is stopped. */
export async function runInstaller(command: string, args: string[], opts: RunOptions): Promise<RunResult> {
  if (opts.signal?.aborted) throw new InstallError(`${opts.what} was cancelled before it started`, []);
  let child: ChildProcess;
  try {
    child = await spawnStarted(command, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"], detached: true, shell: false });
  } catch (e) {
    const why = e instanceof SpawnError && e.code === "ENOENT" ? `${e.detail} ('${command}' was not found on PATH; install it or choose another source)` : (e as Error).message;
    throw new InstallError(`${opts.what} could not start: ${why}`, []);
  }
  return watchInstaller(child, opts);
}

function watchInstaller(child: ChildProcess, opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const tail: string[] = [];
  const all: string[] = [];
  const stdout = child.stdout!;
  const stderr = child.stderr!;
  return new Promise<RunResult>((resolve, reject) => {
    let settled = false;
    let stopReason: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const partial = { out: "", err: "" };

    const pushLine = (line: string) => {
      const clean = line.replace(/\r$/, "").replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
      if (clean.trim() === "") return;
      tail.push(clean);
      if (tail.length > TAIL) tail.shift();
      if (all.length < 10_000) all.push(clean);
      opts.onLine?.(clean);
    };
    const feed = (key: "out" | "err") => (chunk: Buffer) => {
      const text = partial[key] + chunk.toString("utf8");
      const parts = text.split("\n");
      partial[key] = parts.pop() ?? "";
      if (partial[key].length > 64 * 1024) {
        parts.push(partial[key]);
        partial[key] = "";
      }
      parts.forEach(pushLine);
    };
    stdout.on("data", feed("out"));
    stderr.on("data", feed("err"));

    const stop = (reason: string) => {
      if (stopReason || settled) return;
      stopReason = reason;
      if (child.pid === undefined) return;
      signalGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => signalGroup(child.pid!, "SIGKILL"), KILL_GRACE_MS);
    };
    const timer = setTimeout(
      () => stop(`did not finish within the install bound (${Math.round((opts.boundMs ?? opts.timeoutMs) / 1000)} s); its process tree was stopped. Raise the bound or check the installer's output`),
      opts.timeoutMs,
    );
    const onAbort = () => stop("was cancelled; its process tree was stopped");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();

    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      opts.signal?.removeEventListener("abort", onAbort);
      if (child.pid !== undefined) signalGroup(child.pid, "SIGKILL");
      stdout.destroy();
      stderr.destroy();
      for (const key of ["out", "err"] as const) if (partial[key]) pushLine(partial[key]);
      if (err) reject(err);
      else resolve({ lines: all, ms: Date.now() - started });
    };

    child.on("exit", (code, signal) => {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const outcome = (): Error | undefined => {
        if (stopReason) return new InstallError(`${opts.what} ${stopReason}`, tail);
        if (code === 0) return undefined;
        return new InstallError(`${opts.what} failed (${signal ? `signal ${signal}` : `exit code ${code}`}) after ${secs} s`, tail);
      };
      // Output may still be in the pipes; wait (bounded) for them to close, since a leftover grandchild may hold them.
      const closed = () => finish(outcome());
      child.once("close", closed);
      drainTimer = setTimeout(closed, DRAIN_MS);
    });
  });
}
