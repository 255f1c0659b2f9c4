import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

/** A process that could not be started: no fds left (EMFILE), binary missing (ENOENT), not executable (EACCES). */
export class SpawnError extends Error {
  override readonly name = "SpawnError";
  constructor(
    readonly file: string,
    readonly code: string | undefined,
    readonly detail: string,
  ) {
    super(`cannot start ${file}: ${detail}${hintFor(code)}`);
  }
}

function hintFor(code: string | undefined): string {
  if (code === "EMFILE" || code === "ENFILE") return " (mcp-herd has no file descriptors left: too many commands or files open at once; retry when some finish, or raise `ulimit -n`)";
  if (code === "EAGAIN") return " (the system refused a new process: too many processes; retry later)";
  if (code === "ENOENT") return " (not found on PATH or no such working folder)";
  if (code === "EACCES") return " (permission denied)";
  return "";
}

/**
 * Spawns with the 'error' listener attached before anything touches the child, and resolves once it runs.
 * A failed start rejects with a SpawnError; it never becomes an unhandled 'error' event that kills the server
 * (on EMFILE node gives no stdio streams at all, so touching child.stdout first used to throw, then crash).
 */
export function spawnStarted(file: string, args: readonly string[], opts: SpawnOptions): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(file, args, opts);
    } catch (e) {
      reject(new SpawnError(file, (e as NodeJS.ErrnoException).code, (e as Error).message));
      return;
    }
    let started = false;
    // Kept for the child's whole life: after the start, 'error' only reports a failed kill() or send(), which the exit handling covers.
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (!started) reject(new SpawnError(file, e.code, e.message));
    });
    child.once("spawn", () => {
      started = true;
      resolve(child);
    });
  });
}
