import { describe, expect, it } from "vitest";
import { idleDecision, reduceMemoryWhenIdle, type IdleState } from "../../../src/util/idle-memory.js";

const o = { quietChecks: 2, quietUtilization: 0.02, grownBytes: 8 << 20 };
const run = (reads: Array<[utilization: number, young: number]>) => {
  let s: IdleState = { quiet: 0, tries: 0 };
  return reads.map(([u, y]) => {
    const d = idleDecision(o, s, u, y);
    s = { quiet: d.quiet, tries: d.tries };
    return d.reduce;
  });
};

describe("idle memory give-back", () => {
  it("gives back after quietChecks quiet reads with a grown young generation, again a quiet streak later while it stays grown, at most 4 times until work comes back", () => {
    const Q: [number, number] = [0.001, 32 << 20];
    expect(run(Array.from({ length: 12 }, () => Q))).toEqual([false, true, false, true, false, true, false, true, false, false, false, false]);
    expect(run([Q, Q, [0.001, 1 << 20], [0.001, 1 << 20], [0.001, 1 << 20]])).toEqual([false, true, false, false, false]);
    expect(run([...Array.from({ length: 9 }, () => Q), [0.5, 32 << 20], Q, Q])).toEqual([false, true, false, true, false, true, false, true, false, false, false, true]);
  });

  it("never under load, never with a small young generation, and a busy read restarts the quiet streak", () => {
    expect(run([[0.5, 32 << 20], [0.3, 32 << 20], [0.9, 32 << 20]])).toEqual([false, false, false]);
    expect(run([[0.001, 2 << 20], [0.001, 2 << 20], [0.001, 2 << 20]])).toEqual([false, false, false]);
    expect(run([[0.001, 32 << 20], [0.5, 32 << 20], [0.001, 32 << 20], [0.001, 32 << 20]])).toEqual([false, false, false, true]);
  });

  it("runs a memory-reducing collection when idle: the heap after it holds no more than before", async () => {
    const garbage: unknown[] = [];
    for (let i = 0; i < 2e5; i++) garbage.push({ i, s: `x${i}` });
    garbage.length = 0;
    const before = process.memoryUsage().heapUsed;
    const stop = reduceMemoryWhenIdle({ checkMs: 20, quietChecks: 1, quietUtilization: 1.01, grownBytes: 0 });
    await new Promise((r) => setTimeout(r, 200));
    stop();
    expect(process.memoryUsage().heapUsed).toBeLessThan(before);
  });
});
