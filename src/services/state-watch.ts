import { statSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { Logger } from "../log.js";

/** How often the file is checked when no watch event came, and how long events are gathered before one re-read. */
export interface WatchTiming {
  pollMs: number;
  debounceMs: number;
  /** false: the periodic check alone (what is left where fs.watch reports nothing). */
  useWatch?: boolean;
}

/** Check every 2 s (a stat, nothing more, unless the file changed); gather events for 100 ms. */
export const DEFAULT_WATCH: WatchTiming = { pollMs: 2_000, debounceMs: 100 };

/** Test and tuning knobs: MCP_HERD_FOLLOW_POLL_MS, MCP_HERD_FOLLOW_DEBOUNCE_MS (milliseconds). */
export function watchTimingFromEnv(env: NodeJS.ProcessEnv): Partial<WatchTiming> {
  const out: Partial<WatchTiming> = {};
  const poll = Number(env.MCP_HERD_FOLLOW_POLL_MS);
  const debounce = Number(env.MCP_HERD_FOLLOW_DEBOUNCE_MS);
  if (env.MCP_HERD_FOLLOW_POLL_MS && poll >= 10) out.pollMs = poll;
  if (env.MCP_HERD_FOLLOW_DEBOUNCE_MS && debounce >= 0) out.debounceMs = debounce;
  return out;
}

// Why: fs.watch says "soon" but may say nothing (network filesystems, an inotify limit, a folder created later);
// a periodic stat bounds how late a change is seen. Both only arm one debounced check, one re-read runs at a time,
// and a re-read happens only when the file itself (inode, size, mtime) changed: a storm of events is one re-read.
/** Calls `onChange` after the file changed: at most one call at a time, at most one per debounce window. */
export class FileWatch {
  private watcher?: FSWatcher;
  private poller?: NodeJS.Timeout;
  private armed?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stamp: string;
  private stopped = false;

  constructor(
    private readonly file: string,
    private readonly onChange: () => Promise<void>,
    private readonly timing: WatchTiming,
    private readonly log: Logger,
  ) {
    this.stamp = stampOf(file);
  }

  /** Starts watching from the file as it is now (a change before this call is not reported). */
  start(): void {
    const name = basename(this.file);
    if (this.timing.useWatch !== false) this.watchFolder(name);
    this.poller = setInterval(() => this.arm(), this.timing.pollMs);
    this.poller.unref();
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.poller);
    clearTimeout(this.armed);
  }

  private watchFolder(name: string): void {
    try {
      this.watcher = watch(dirname(this.file), { persistent: false }, (_event, changed) => {
        if (!changed || changed === name) this.arm();
      });
      this.watcher.on("error", (e) => {
        this.log.warn(`watching ${dirname(this.file)} stopped (${e.message}); changes are seen within ${this.timing.pollMs} ms instead`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (e) {
      this.log.warn(`cannot watch ${dirname(this.file)} (${(e as Error).message}); changes are seen within ${this.timing.pollMs} ms instead`);
    }
  }

  private arm(): void {
    if (this.stopped || this.armed) return;
    this.armed = setTimeout(() => void this.check(), this.timing.debounceMs);
    this.armed.unref();
  }

  private async check(): Promise<void> {
    this.armed = undefined;
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const now = stampOf(this.file);
    if (now === this.stamp) return;
    this.stamp = now;
    this.running = true;
    try {
      await this.onChange();
    } catch (e) {
      this.log.warn(`re-reading ${this.file} failed: ${(e as Error).message}`);
    } finally {
      this.running = false;
    }
    if (this.again) {
      this.again = false;
      this.arm();
    }
  }
}

/** The file's identity: a rename (atomic write) changes the inode, an edit in place the size or mtime. */
function stampOf(file: string): string {
  try {
    const st = statSync(file, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (e) {
    return `absent:${(e as NodeJS.ErrnoException).code ?? ""}`;
  }
}
