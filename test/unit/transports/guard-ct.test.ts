import { describe, expect, it, vi } from "vitest";

// A spy around the real timingSafeEqual: the compare must go through it (a plain === would not),
// always on equal-length digests (length never leaks), and its verdict must be the verdict.
const seen: Array<{ a: number; b: number }> = [];
let override: boolean | undefined;
vi.mock("node:crypto", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:crypto")>();
  return {
    ...real,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      seen.push({ a: a.byteLength, b: b.byteLength });
      const verdict = real.timingSafeEqual(a, b);
      return override ?? verdict;
    },
  };
});

const { tokenMatches, matchToken } = await import("../../../src/transports/guard.js");

describe("constant-time token compare", () => {
  it("every compare goes through timingSafeEqual on two 32-byte digests, whatever the presented length, and its answer is the answer", () => {
    const t = "s3cret-token-0123456789";
    for (const presented of ["x", "s", t.slice(0, -1), t + "x", "y".repeat(100_000), t]) {
      seen.length = 0;
      expect(tokenMatches(`Bearer ${presented}`, t)).toBe(presented === t);
      expect(seen).toEqual([{ a: 32, b: 32 }]);
    }
    // The verdict is timingSafeEqual's: flip it and the answer flips (no second, non-constant compare).
    override = true;
    expect(tokenMatches("Bearer wrong", t)).toBe(true);
    override = false;
    expect(tokenMatches(`Bearer ${t}`, t)).toBe(false);
    override = undefined;
    // Named tokens: every accepted token is compared the same way, also after a match (no early exit).
    seen.length = 0;
    expect(matchToken(`Bearer ${t}`, [{ id: "b", token: t }, { id: "a", token: "other-token-000000000000" }])).toBe("b");
    expect(seen).toEqual([{ a: 32, b: 32 }, { a: 32, b: 32 }]);
  });
});
