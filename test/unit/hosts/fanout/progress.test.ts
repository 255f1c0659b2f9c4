import { describe, expect, it } from "vitest";
import type { Progress } from "../../../../src/backends/backend.js";
import { FanoutProgress } from "../../../../src/hosts/fanout/progress.js";

describe("FanoutProgress", () => {
  it("numbers hosts done / total, output lines in between, always increasing, ending at total", () => {
    const seen: Progress[] = [];
    const p = new FanoutProgress(3, (x) => seen.push(x));
    p.line("a", "a-1");
    p.line("b", "b-1");
    p.line("a", "a-2");
    p.hostDone("b", "ok");
    for (let i = 0; i < 1000; i++) p.line("a", `a-more-${i}`);
    p.hostDone("a", "failed");
    p.hostDone("c", "down");
    p.line("late", "after the end");
    p.hostDone("extra", "ok");
    const values = seen.map((s) => s.progress);
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!);
    expect(seen.every((s) => s.total === 3)).toBe(true);
    expect(seen.filter((s) => Number.isInteger(s.progress)).map((s) => [s.progress, s.message])).toEqual([
      [1, "b done (1/3)"],
      [2, "a done (2/3): failed"],
      [3, "c done (3/3): down"],
    ]);
    expect(seen.at(-1)).toEqual({ progress: 3, total: 3, message: "c done (3/3): down" });
    expect(seen[0]).toEqual({ progress: 0.5, total: 3, message: "[a] a-1" });
    expect(seen.filter((s) => s.message?.startsWith("[a] a-more-"))).toHaveLength(1000);
    expect(values.every((v) => v <= 3)).toBe(true);
  });
});
