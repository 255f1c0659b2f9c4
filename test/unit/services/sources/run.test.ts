import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InstallError, runInstaller } from "../../../../src/services/sources/run.js";
import { waitGone } from "../../../fixtures/sources/launch.js";

let dir: string;
beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), "herd-run-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const node = process.execPath;
const base = { env: process.env, timeoutMs: 20_000, what: "test installer" };

describe("runInstaller", () => {
  it("streams every line (stdout and stderr) and resolves on success", async () => {
    const seen: string[] = [];
    const r = await runInstaller(node, ["-e", "console.log('a\\nb'); console.error('c'); process.stdout.write('tail-no-newline')"], {
      ...base,
      onLine: (l) => seen.push(l),
    });
    expect(seen.sort()).toEqual(["a", "b", "c", "tail-no-newline"]);
    expect(r.lines.length).toBe(4);
  });

  it("fails with the exit code and only the last 20 lines", async () => {
    const err = (await runInstaller(node, ["-e", "for (let i = 1; i <= 50; i++) console.log('line ' + i); process.exit(3)"], base).catch(
      (e: unknown) => e,
    )) as InstallError;
    expect(err).toBeInstanceOf(InstallError);
    expect(err.message).toMatch(/^test installer failed \(exit code 3\)/);
    expect(err.tail).toHaveLength(20);
    expect(err.tail[0]).toBe("line 31");
    expect(err.message).toMatch(/line 50$/);
    expect(err.message).not.toMatch(/line 30\n/);
  });

  it("stops the whole tree at its bound, even a grandchild that ignores SIGTERM", async () => {
    const pidFile = join(dir, "pid");
    const grandchild = `process.on('SIGTERM', () => {}); require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); console.log('ready'); setInterval(() => {}, 1000)`;
    const script = `const c = require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(grandchild)}], { stdio: 'inherit' }); setInterval(() => {}, 1000)`;
    const started = Date.now();
    const err = (await runInstaller(node, ["-e", script], { ...base, timeoutMs: 1_500, boundMs: 300_000 }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/did not finish within the install bound \(300 s\); its process tree was stopped/);
    expect(err.message).toMatch(/ready/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await waitGone(Number(readFileSync(pidFile, "utf8")))).toBe(true);
  });

  it("stops on abort", async () => {
    const ac = new AbortController();
    const p = runInstaller(node, ["-e", "console.log('go'); setInterval(() => {}, 1000)"], {
      ...base,
      signal: ac.signal,
      onLine: () => ac.abort(),
    });
    await expect(p).rejects.toThrow(/was cancelled; its process tree was stopped/);
  });

  it("names a missing installer", async () => {
    await expect(runInstaller("mcp-herd-no-such-binary", [], base)).rejects.toThrow(/could not start.*not found on PATH/);
  });

  it("does not wait forever for a grandchild that keeps the pipes open after the installer exits", async () => {
    const script = `require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' }).unref(); console.log('bye')`;
    const started = Date.now();
    const r = await runInstaller(node, ["-e", script], base);
    expect(r.lines).toContain("bye");
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
