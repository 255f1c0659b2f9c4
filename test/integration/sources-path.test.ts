import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { prepareSource } from "../../src/services/sources/index.js";
import type { PrepareOptions } from "../../src/services/types.js";
import { callOnce, waitGone } from "../fixtures/sources/launch.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/sources");

let tmp: string;
let phases: Array<[string, string | undefined]>;
let opts: PrepareOptions;

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "herd-sources-path-"));
  phases = [];
  opts = {
    stateDir: join(tmp, "state"),
    installTimeoutMs: 120_000,
    log: silentLogger,
    onPhase: (p, d) => void phases.push([p, d]),
  };
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

describe("path source", () => {
  it("runs a dependency-free node folder with node and its package.json bin", async () => {
    const p = await prepareSource("node-fix", { path: join(FIXTURES, "node-server"), env: { FIXTURE_LABEL: "hello" }, args: ["--x"] }, opts);
    expect(p.source).toBe("path");
    expect(p.install_ms).toBe(0);
    expect(p.launch).toMatchObject({ kind: "stdio", command: process.execPath, args: [join(FIXTURES, "node-server", "server.js"), "--x"] });
    expect(p.detail).toMatch(/node folder .* \(no dependencies\)/);
    const who = JSON.parse(await callOnce(p.launch, "whoami"));
    expect(who).toMatchObject({ label: "hello", cwd: join(FIXTURES, "node-server"), argv: ["--x"] });
  });

  it("runs a plain-Python folder (server.py) with the system python and no venv", async () => {
    const p = await prepareSource("py-fix", { path: join(FIXTURES, "python-server"), env: { FIXTURE_LABEL: "py" } }, opts);
    expect(p.launch).toMatchObject({ kind: "stdio", args: [join(FIXTURES, "python-server", "server.py")] });
    expect(p.install_ms).toBe(0);
    expect(existsSync(join(opts.stateDir, "venvs"))).toBe(false);
    expect(JSON.parse(await callOnce(p.launch, "whoami"))).toMatchObject({ label: "py" });
  });

  it("installs a folder's dependencies once with npm (no scripts) and reports installer lines", async () => {
    const dir = join(tmp, "app");
    cpSync(join(FIXTURES, "node-server"), dir, { recursive: true });
    const dep = join(tmp, "dep");
    mkdirSync(dep);
    writeFileSync(join(dep, "package.json"), JSON.stringify({ name: "local-dep", version: "1.0.0", scripts: { install: "touch " + join(tmp, "SCRIPT-RAN") } }));
    writeFileSync(join(dep, "index.js"), "module.exports = 42;\n");
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: "app", version: "1.0.0", main: "server.js", dependencies: { "local-dep": `file:${dep}` } }),
    );
    const p = await prepareSource("app", { path: dir }, opts);
    expect(existsSync(join(dir, "node_modules", "local-dep"))).toBe(true);
    expect(existsSync(join(tmp, "SCRIPT-RAN"))).toBe(false);
    expect(p.detail).toMatch(/npm install/);
    expect(p.install_ms).toBeGreaterThan(0);
    expect(phases.some(([ph]) => ph === "installing")).toBe(true);
    expect(await callOnce(p.launch, "echo", { text: "hi" })).toBe("hi");

    phases = [];
    const again = await prepareSource("app", { path: dir }, opts);
    expect(again.install_ms).toBe(0);
    expect(again.detail).toMatch(/node_modules present/);
    expect(phases.some(([ph]) => ph === "installing")).toBe(false);
  });

  it("skips installing with install: false", async () => {
    const dir = join(tmp, "app");
    cpSync(join(FIXTURES, "node-server"), dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "app", main: "server.js", dependencies: { "x-not-there": "1" } }));
    const p = await prepareSource("app", { path: dir, install: false }, opts);
    expect(p.install_ms).toBe(0);
    expect(existsSync(join(dir, "node_modules"))).toBe(false);
  });

  it("fails a failing install with the installer's last lines, within its bound", async () => {
    const dir = join(tmp, "bad");
    cpSync(join(FIXTURES, "node-server"), dir, { recursive: true });
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: "bad", main: "server.js", dependencies: { "mcp-herd-no-such-package-4d1f0c": "1.0.0" } }),
    );
    const started = Date.now();
    const err = (await prepareSource("bad", { path: dir }, opts).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/service 'bad': npm install in .* failed \(exit code \d+\)/);
    expect(err.message).toMatch(/last \d+ output lines/);
    expect(err.message).toMatch(/404|E404|not found|ENOTFOUND|EAI_AGAIN/i);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it("stops an install that overruns its bound, with its whole process tree", async () => {
    const dir = join(tmp, "slow");
    cpSync(join(FIXTURES, "node-server"), dir, { recursive: true });
    const dep = join(tmp, "dep");
    mkdirSync(dep);
    writeFileSync(join(dep, "package.json"), JSON.stringify({ name: "dep", version: "1.0.0" }));
    const pidFile = join(tmp, "grandchild.pid");
    const hang = `node -e "require('fs').writeFileSync('${pidFile}', String(process.pid)); setInterval(() => {}, 1000)"`;
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: "slow", main: "server.js", dependencies: { dep: `file:${dep}` }, scripts: { preinstall: hang } }),
    );
    const started = Date.now();
    const err = (await prepareSource("slow", { path: dir, allow_scripts: true }, { ...opts, installTimeoutMs: 4_000 }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/did not finish within the install bound \(4 s\); its process tree was stopped/);
    expect(Date.now() - started).toBeLessThan(30_000);
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(pid).toBeGreaterThan(0);
    expect(await waitGone(pid)).toBe(true);
  });

  it("refuses a folder that is missing, a file, or has no entry", async () => {
    await expect(prepareSource("x", { path: join(tmp, "nope") }, opts)).rejects.toThrow(/cannot be used: ENOENT/);
    writeFileSync(join(tmp, "file"), "");
    await expect(prepareSource("x", { path: join(tmp, "file") }, opts)).rejects.toThrow(/is not a folder/);
    mkdirSync(join(tmp, "empty"));
    await expect(prepareSource("x", { path: join(tmp, "empty") }, opts)).rejects.toThrow(/cannot tell how to run/);
    mkdirSync(join(tmp, "nobuild"));
    writeFileSync(join(tmp, "nobuild", "package.json"), JSON.stringify({ main: "dist/server.js" }));
    await expect(prepareSource("x", { path: join(tmp, "nobuild") }, opts)).rejects.toThrow(/no entry file .*tried dist\/server.js, dist\/index.js, index.js/);
  });

  it("prepares command and url sources without running anything", async () => {
    const c = await prepareSource("cmd", { command: "node", args: ["-e", "1"], env: { A: "1" } }, opts);
    expect(c).toMatchObject({ source: "command", install_ms: 0, launch: { kind: "stdio", command: "node", args: ["-e", "1"], env: { A: "1" } } });
    const u = await prepareSource("remote", { url: "http://127.0.0.1:9/mcp", headers: { Authorization: "Bearer t" } }, opts);
    expect(u.launch).toEqual({ kind: "url", url: "http://127.0.0.1:9/mcp", headers: { Authorization: "Bearer t" } });
  });
});
