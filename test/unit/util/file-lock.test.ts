import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { withFileLock } from "../../../src/util/file-lock.js";

describe("withFileLock", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "herd-lock-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("runs one holder at a time and removes the lock after each, also after a throw", async () => {
    const file = join(dir, "shared.json");
    let inside = 0;
    let most = 0;
    const hold = () =>
      withFileLock(file, async () => {
        most = Math.max(most, ++inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
      });
    await Promise.all(Array.from({ length: 20 }, hold));
    expect(most).toBe(1);
    await expect(withFileLock(file, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("gives up after the wait with an error naming the lock file, and breaks a lock older than the stale bound", async () => {
    const file = join(dir, "shared.json");
    writeFileSync(`${file}.lock`, "12345");
    const t0 = Date.now();
    await expect(withFileLock(file, () => Promise.resolve(1), { waitMs: 200 })).rejects.toThrow(`another mcp-herd process holds ${file}.lock`);
    expect(Date.now() - t0).toBeLessThan(5_000);
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, old, old);
    const stale: string[] = [];
    await expect(withFileLock(file, () => Promise.resolve(2), { waitMs: 200, onStale: (f) => stale.push(f) })).resolves.toBe(2);
    expect(stale).toEqual([`${file}.lock`]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
