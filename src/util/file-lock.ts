import { constants, promises as fsp } from "node:fs";
import { dirname } from "node:path";

/** How long a writer waits for another process's lock before it gives up and says so. */
export const LOCK_WAIT_MS = 10_000;
/** A lock older than this was left by a process that died while holding it. */
export const LOCK_STALE_MS = 30_000;

export interface LockOptions {
  waitMs?: number;
  staleMs?: number;
  /** Told when a lock left by a dead process is broken. */
  onStale?: (lockFile: string) => void;
}

// Why: several mcp-herd processes may share one state folder; each read-merge-write of a shared file runs
// under `<file>.lock` (O_EXCL, mode 0600), so no process loses another's change. Every wait is bounded.
/** Runs `fn` while holding `<file>.lock`; throws a clear error when another process holds it past the wait. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const lockFile = `${file}.lock`;
  await take(lockFile, opts);
  try {
    return await fn();
  } finally {
    await fsp.rm(lockFile, { force: true }).catch(() => undefined);
  }
}

async function take(lockFile: string, opts: LockOptions): Promise<void> {
  const waitMs = opts.waitMs ?? LOCK_WAIT_MS;
  const staleMs = opts.staleMs ?? LOCK_STALE_MS;
  await fsp.mkdir(dirname(lockFile), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + waitMs;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      const h = await fsp.open(lockFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      await h.writeFile(String(process.pid));
      await h.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const st = await fsp.stat(lockFile).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > staleMs) {
      opts.onStale?.(lockFile);
      await fsp.rm(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another mcp-herd process holds ${lockFile} for more than ${waitMs / 1000}s`);
    await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
  }
}
