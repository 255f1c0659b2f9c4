import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writePrivateFileAtomic } from "../../../src/util/private-file.js";

describe("writePrivateFileAtomic", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "herd-private-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("writes mode 0600 in a new 0700 folder, replacing the old content whole", async () => {
    const file = join(dir, "state", "services.json");
    await writePrivateFileAtomic(file, "first ünïcode");
    expect(readFileSync(file, "utf8")).toBe("first ünïcode");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "state")).mode & 0o777).toBe(0o700);
    await writePrivateFileAtomic(file, "second");
    expect(readFileSync(file, "utf8")).toBe("second");
    expect(readdirSync(join(dir, "state"))).toEqual(["services.json"]);
  });

  it("replaces a symlink at the path with a file instead of writing through it", async () => {
    const target = join(dir, "elsewhere.txt");
    writeFileSync(target, "untouched");
    const file = join(dir, "state.json");
    symlinkSync(target, file);
    await writePrivateFileAtomic(file, "new");
    expect(readFileSync(target, "utf8")).toBe("untouched");
    expect(lstatSync(file).isSymbolicLink()).toBe(false);
    expect(readFileSync(file, "utf8")).toBe("new");
  });

  it("closes what it opens: 50 writes leave the process's open files as they were", async () => {
    const file = join(dir, "many.json");
    await writePrivateFileAtomic(file, "warm-up");
    const before = readdirSync("/proc/self/fd").length;
    for (let i = 0; i < 50; i++) await writePrivateFileAtomic(file, `n${i}`);
    expect(readdirSync("/proc/self/fd").length).toBeLessThanOrEqual(before + 2);
    expect(readFileSync(file, "utf8")).toBe("n49");
  });

  it("fails when the path cannot be replaced and leaves no temp file behind", async () => {
    const file = join(dir, "taken");
    mkdirSync(join(file, "inside"), { recursive: true });
    await expect(writePrivateFileAtomic(file, "x")).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST|directory/i);
    expect(readdirSync(dir)).toEqual(["taken"]);
  });
});
