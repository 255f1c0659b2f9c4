import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";

/** When an idle process gives memory back. */
export interface IdleMemoryOptions {
  /** How often the event loop's use is read. */
  checkMs: number;
  /** Reads in a row below `quietUtilization` before the process counts as idle. */
  quietChecks: number;
  quietUtilization: number;
  /** The young generation's size from which it is worth giving back. */
  grownBytes: number;
}

const DEFAULTS: IdleMemoryOptions = { checkMs: 5_000, quietChecks: 2, quietUtilization: 0.02, grownBytes: 8 * 1024 * 1024 };

/** The idle check's state between reads: the quiet streak, and the give-backs since the last busy read. */
export interface IdleState {
  quiet: number;
  tries: number;
}

// V8 shrinks the young generation some seconds after the collection, when its memory reducer finds the
// process idle; a busy machine can make it pass: a few more tries, a quiet streak apart, then wait for work.
const MAX_TRIES = 4;

/** What the idle check decides from one read: the next state, and whether to give memory back now. */
export function idleDecision(
  o: Pick<IdleMemoryOptions, "quietChecks" | "quietUtilization" | "grownBytes">,
  state: IdleState,
  utilization: number,
  youngBytes: number,
): IdleState & { reduce: boolean } {
  if (utilization >= o.quietUtilization) return { quiet: 0, tries: 0, reduce: false };
  const quiet = state.quiet + 1;
  if (state.tries >= MAX_TRIES || quiet < o.quietChecks || youngBytes < o.grownBytes) return { quiet, tries: state.tries, reduce: false };
  return { quiet: 0, tries: state.tries + 1, reduce: true };
}

// V8's gc() with options ({ type, execution, flavor }): only reachable through a context made after --expose-gc.
type Gc = (opts: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

function exposedGc(): Gc | undefined {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = vm.runInNewContext("typeof gc === 'function' ? gc : undefined");
    return typeof gc === "function" ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gives memory back once mcp-herd has been idle a while. Under load V8 grows the young generation
 * to 32 MiB (two 16 MiB semi-spaces) and keeps it when the load is gone; capping it with a V8 flag
 * costs a quarter of the 64-session throughput (measured), so instead, when the event loop has been
 * quiet for `quietChecks` reads and the young generation is large, one memory-reducing collection
 * (a few ms) lets V8's memory reducer shrink it; while it stays large, up to MAX_TRIES in all until work comes back. Returns a stop function; never keeps the process alive.
 */
export function reduceMemoryWhenIdle(opts: Partial<IdleMemoryOptions> = {}): () => void {
  const o = { ...DEFAULTS, ...opts };
  const gc = exposedGc();
  if (!gc) return () => {};
  let last = performance.eventLoopUtilization();
  let state: IdleState = { quiet: 0, tries: 0 };
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
    const d = idleDecision(o, state, utilization, young);
    state = { quiet: d.quiet, tries: d.tries };
    if (d.reduce) gc({ type: "major", execution: "sync", flavor: "last-resort" });
  }, o.checkMs);
  timer.unref();
  return () => clearInterval(timer);
}
