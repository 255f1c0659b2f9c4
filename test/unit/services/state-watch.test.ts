import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/log.js";
import { FileWatch, watchTimingFromEnv } from "../../../src/services/state-watch.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(fn: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

describe("FileWatch (how a replica notices the shared state file changed)", () => {
  let dir: string;
  let file: string;
  let watches: FileWatch[];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "herd-watch-"));
    file = join(dir, "state.json");
    writeFileSync(file, "0");
    watches = [];
  });
  afterEach(() => {
    for (const w of watches) w.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(onChange: () => Promise<void>, timing: { pollMs: number; debounceMs: number; useWatch?: boolean }): FileWatch {
    const w = new FileWatch(file, onChange, timing, silentLogger);
    watches.push(w);
    w.start();
    return w;
  }

  /** An atomic replace, as the registry writes the file. */
  function replace(body: string): void {
    writeFileSync(`${file}.tmp`, body);
    renameSync(`${file}.tmp`, file);
  }

  it("fs.watch reports a replace long before the periodic check would, and other files in the folder are ignored", async () => {
    let calls = 0;
    start(async () => void calls++, { pollMs: 60_000, debounceMs: 20 });
    writeFileSync(join(dir, "jobs.json"), "other");
    await sleep(300);
    expect(calls).toBe(0);
    replace("1");
    expect(await until(() => calls === 1, 5_000)).toBe(true);
  });

  it("without fs.watch, the periodic check alone sees the change", async () => {
    let calls = 0;
    start(async () => void calls++, { pollMs: 100, debounceMs: 0, useWatch: false });
    await sleep(400);
    expect(calls).toBe(0);
    replace("1");
    expect(await until(() => calls === 1, 5_000)).toBe(true);
    await sleep(400);
    expect(calls).toBe(1);
  });

  it("a storm of 200 replaces is a handful of re-reads, one at a time, and the last change is always read", async () => {
    let calls = 0;
    let inside = 0;
    let most = 0;
    let lastSeen = "";
    start(
      async () => {
        most = Math.max(most, ++inside);
        calls++;
        lastSeen = readFileSync(file, "utf8");
        await sleep(50);
        inside--;
      },
      { pollMs: 100, debounceMs: 30 },
    );
    for (let i = 0; i < 200; i++) {
      replace(String(i));
      if (i % 20 === 0) await sleep(5);
    }
    expect(await until(() => lastSeen === "199" && inside === 0, 5_000)).toBe(true);
    expect(most).toBe(1);
    expect(calls).toBeLessThanOrEqual(20);
    const settled = calls;
    await sleep(500);
    expect(calls).toBe(settled);
  });

  it("reads its knobs from the environment and ignores nonsense", () => {
    expect(watchTimingFromEnv({ MCP_HERD_FOLLOW_POLL_MS: "250", MCP_HERD_FOLLOW_DEBOUNCE_MS: "0" })).toEqual({ pollMs: 250, debounceMs: 0 });
    expect(watchTimingFromEnv({ MCP_HERD_FOLLOW_POLL_MS: "1", MCP_HERD_FOLLOW_DEBOUNCE_MS: "x" })).toEqual({});
  });
});
