import { describe, expect, it } from "vitest";
import { LineSplitter } from "../../../src/backends/child/lines.js";
import { childEnv } from "../../../src/backends/child/env.js";
import { describeExit } from "../../../src/backends/child/child.js";
import { LogRing } from "../../../src/services/logs.js";
import { timingFromEnv } from "../../../src/services/registry.js";

function split(max: number, chunks: (string | Buffer)[]) {
  const lines: string[] = [];
  const dropped: number[] = [];
  const s = new LineSplitter((l) => lines.push(l.toString()), (n) => dropped.push(n), max);
  for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  s.end();
  return { lines, dropped };
}

describe("LineSplitter", () => {
  it("joins lines across chunks and splits several in one chunk", () => {
    expect(split(100, ["ab", "c\nde", "f\ng\n\nh"]).lines).toEqual(["abc", "def", "g", "", "h"]);
  });

  it("drops a line longer than the cap, reports its size once, and keeps going", () => {
    const big = Buffer.alloc(50, 0x78);
    const r = split(20, ["ok\n", big, big, "tail\nnext\n"]);
    expect(r.lines).toEqual(["ok", "next"]);
    expect(r.dropped).toEqual([104]);
  });

  it("never holds more than the cap for a stream without newlines", () => {
    const s = new LineSplitter(() => {}, () => {}, 1024);
    for (let i = 0; i < 1000; i++) s.push(Buffer.alloc(64 * 1024, 0x79));
    expect((s as unknown as { pending: number }).pending).toBeLessThanOrEqual(1024);
  });
});

describe("LogRing", () => {
  it("keeps the last N lines with timestamps and filters by since", () => {
    const ring = new LogRing(3);
    for (const t of ["a", "b", "c", "d"]) ring.push("stderr", t);
    expect(ring.tail(10).map((l) => l.text)).toEqual(["b", "c", "d"]);
    expect(ring.tail(1)[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(ring.tail(10, Date.now() + 60_000)).toEqual([]);
    expect(ring.tail(10, "2000-01-01T00:00:00Z")).toHaveLength(3);
  });

  it("keeps the service's MCP log messages in a ring of their own: a flood of them never evicts stderr or mcp-herd's notes", () => {
    const ring = new LogRing(5);
    ring.push("herd", "started (pid 1)");
    ring.push("stderr", "listening");
    for (let i = 0; i < 100; i++) ring.push("mcp", `log ${i}`);
    expect(ring.stderrTail(5)).toEqual(["listening"]);
    const all = ring.tail(10);
    expect(all.map((l) => l.text)).toEqual(["started (pid 1)", "listening", "log 95", "log 96", "log 97", "log 98", "log 99"]);
    expect(all.map((l) => l.time)).toEqual([...all.map((l) => l.time)].sort());
    expect(ring.tail(3).map((l) => l.text)).toEqual(["log 97", "log 98", "log 99"]);
    ring.push("herd", "flood noted");
    expect(ring.tail(1)[0]!.text).toBe("flood noted");
    expect(ring.size).toBe(8);
    for (let i = 100; i < 200; i++) ring.push("mcp", `log ${i}`);
    expect(ring.tail(2, undefined, "herd").map((l) => l.text)).toEqual(["started (pid 1)", "flood noted"]);
    expect(ring.tail(5, undefined, "stderr").map((l) => l.text)).toEqual(["listening"]);
    expect(ring.tail(2, undefined, "mcp").map((l) => l.text)).toEqual(["log 198", "log 199"]);
  });

  it("redacts secret values and truncates huge lines", () => {
    const ring = new LogRing(10);
    ring.setSecrets(["hunter22", "ab"]);
    ring.push("stdout", "password=hunter22 ab");
    ring.push("stderr", "z".repeat(100_000));
    const [a, b] = ring.tail(2);
    expect(a!.text).toBe("password=*** ab");
    expect(b!.text.length).toBeLessThan(5000);
    expect(b!.text).toMatch(/truncated, 100000 chars/);
    expect(ring.stderrTail(5)).toHaveLength(1);
  });
});

describe("childEnv", () => {
  const base = { PATH: "/bin", HOME: "/root", MCP_HERD_TOKEN: "t0ken-abcdefghijklmnop", OTHER: "peer-secret", KEEP: "yes", FN: "() { :; }" };
  it("passes our environment minus mcp-herd's secrets, plus the service env", () => {
    const env = childEnv(base, { inherit: true, extra: { KEEP: "overridden", MINE: "1" }, secrets: ["peer-secret"] });
    expect(env).toMatchObject({ PATH: "/bin", HOME: "/root", KEEP: "overridden", MINE: "1" });
    expect(env).not.toHaveProperty("MCP_HERD_TOKEN");
    expect(env).not.toHaveProperty("OTHER");
    expect(env).not.toHaveProperty("FN");
  });

  it("inherit false gives only the minimal set plus the service env", () => {
    const env = childEnv(base, { inherit: false, extra: { MINE: "1" }, secrets: [] });
    expect(env.MINE).toBe("1");
    expect(env).not.toHaveProperty("KEEP");
    for (const k of Object.keys(env)) expect(["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "MINE"]).toContain(k);
  });
});

describe("small helpers", () => {
  it("describes exits", () => {
    expect(describeExit({ code: 1, signal: null })).toBe("exit code 1");
    expect(describeExit({ code: null, signal: "SIGKILL" })).toBe("signal SIGKILL");
  });

  it("reads timing knobs from the environment, ignoring bad values", () => {
    expect(timingFromEnv({ MCP_HERD_PING_INTERVAL_MS: "200", MCP_HERD_PING_TIMEOUT_MS: "x", MCP_HERD_BACKOFF_START_MS: "-5" })).toEqual({ pingIntervalMs: 200 });
    expect(timingFromEnv({ MCP_HERD_STABLE_MS: "1000", MCP_HERD_BACKOFF_MAX_MS: "5000" })).toEqual({ stableMs: 1000, backoffMaxMs: 5000 });
  });
});
