import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  detectNodeEntry,
  detectPythonEntry,
  detectRuntime,
  insideDir,
  packageBin,
  pyprojectScripts,
} from "../../../../src/services/sources/detect.js";
import { findOnPath, removeOwnedDir, specFolderName } from "../../../../src/services/sources/fsutil.js";

let dir: string;
beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), "herd-detect-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function files(entries: Record<string, string>): void {
  for (const [name, text] of Object.entries(entries)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

describe("detectRuntime", () => {
  it.each([
    [{ "bun.lockb": "", "package.json": "{}" }, true, "bun"],
    [{ "bun.lock": "", "package.json": "{}" }, true, "bun"],
    [{ "bun.lockb": "", "package.json": "{}" }, false, "node"],
    [{ "package.json": "{}" }, false, "node"],
    [{ "pyproject.toml": "" }, false, "python"],
    [{ "requirements.txt": "" }, false, "python"],
    [{ "setup.py": "" }, false, "python"],
    [{ "anything.py": "" }, false, "python"],
  ])("%j (bun on PATH: %s) -> %s", (f, bun, want) => {
    files(f as Record<string, string>);
    expect(detectRuntime(dir, undefined, bun as boolean)).toBe(want);
  });
  it("lets runtime override the markers", () => {
    files({ "package.json": "{}" });
    expect(detectRuntime(dir, "python", false)).toBe("python");
  });
  it("says what to do when nothing marks the folder", () => {
    files({ "README.md": "" });
    expect(() => detectRuntime(dir, undefined, true)).toThrow(/set 'runtime' or use 'command'/);
  });
});

describe("detectNodeEntry", () => {
  it.each([
    [{ "package.json": JSON.stringify({ bin: "cli.js", main: "m.js" }), "cli.js": "", "m.js": "" }, "cli.js"],
    [{ "package.json": JSON.stringify({ name: "@s/tool", bin: { other: "o.js", tool: "t.js" } }), "o.js": "", "t.js": "" }, "t.js"],
    [{ "package.json": JSON.stringify({ bin: { first: "f.js", second: "s.js" } }), "f.js": "", "s.js": "" }, "f.js"],
    [{ "package.json": JSON.stringify({ main: "lib/main" }), "lib/main.js": "" }, "lib/main.js"],
    [{ "package.json": JSON.stringify({ main: "lib" }), "lib/index.js": "" }, "lib/index.js"],
    [{ "package.json": "{}", "dist/index.js": "", "index.js": "" }, "dist/index.js"],
    [{ "package.json": "not json", "index.js": "" }, "index.js"],
    [{ "package.json": JSON.stringify({ main: "missing.js" }), "index.js": "" }, "index.js"],
  ])("%j -> %s", (f, want) => {
    files(f as Record<string, string>);
    expect(detectNodeEntry(dir)).toBe(join(dir, want as string));
  });
  it("never leaves the folder", () => {
    files({ "package.json": JSON.stringify({ main: "../../../etc/passwd" }) });
    expect(() => detectNodeEntry(dir)).toThrow(/no entry file/);
  });
});

describe("detectPythonEntry", () => {
  it("prefers server.py, then main.py", () => {
    files({ "main.py": "", "server.py": "" });
    expect(detectPythonEntry(dir)).toEqual({ kind: "file", file: join(dir, "server.py") });
  });
  it("reads [project.scripts] from pyproject.toml", () => {
    files({ "pyproject.toml": '[project]\nname = "x"\n\n[project.scripts]\nmy-server = "my_pkg.cli:main"  # comment\n[tool.x]\ny = "z:w"\n' });
    expect(detectPythonEntry(dir)).toEqual({ kind: "script", script: "my-server", module: "my_pkg.cli", attr: "main" });
  });
  it("ignores script targets that are not plain identifiers", () => {
    files({ "pyproject.toml": '[project.scripts]\nx = "os;import evil:main"\n', "pkg/__main__.py": "" });
    expect(detectPythonEntry(dir)).toEqual({ kind: "module", module: "pkg", pythonPath: undefined });
  });
  it("finds a src-layout package with __main__.py", () => {
    files({ "pyproject.toml": "[project]\n", "src/my_pkg/__main__.py": "" });
    expect(detectPythonEntry(dir)).toEqual({ kind: "module", module: "my_pkg", pythonPath: join(dir, "src") });
  });
  it("says what it looked for", () => {
    files({ "requirements.txt": "" });
    expect(() => detectPythonEntry(dir)).toThrow(/looked for server.py, main.py/);
  });
});

describe("small helpers", () => {
  it("pyprojectScripts reads only its own table", () => {
    expect(pyprojectScripts('[project.scripts]\na = "m:f"\n"b-c" = \'n.o:g\'\n[other]\nd = "x:y"')).toEqual([
      ["a", "m:f"],
      ["b-c", "n.o:g"],
    ]);
  });
  it("packageBin in strict mode refuses several unnamed bins", () => {
    expect(packageBin({ bin: { a: "a.js", b: "b.js" } }, true)).toBeUndefined();
    expect(packageBin({ bin: { a: "a.js", b: "b.js" } }, false)).toBe("a.js");
  });
  it("insideDir refuses escapes and the folder itself", () => {
    expect(insideDir("/a/b", "c/d.js")).toBe("/a/b/c/d.js");
    expect(insideDir("/a/b", "../b2/x")).toBeUndefined();
    expect(insideDir("/a/b", "/etc/passwd")).toBeUndefined();
    expect(insideDir("/a/b", ".")).toBeUndefined();
  });
  it("specFolderName is path-safe and distinct per spec", () => {
    const a = specFolderName("@scope/pkg@1.0");
    expect(a).toMatch(/^scope-pkg-1\.0-[0-9a-f]{16}$/);
    expect(specFolderName("../../x")).not.toMatch(/\//);
    expect(specFolderName("a/b")).not.toBe(specFolderName("a-b"));
  });
  it("findOnPath finds executables only", () => {
    files({ "tool": "#!/bin/sh\n", "plain": "" });
    chmodSync(join(dir, "tool"), 0o755);
    expect(findOnPath("tool", `/nonexistent:${dir}`)).toBe(join(dir, "tool"));
    expect(findOnPath("plain", dir)).toBeUndefined();
  });
  it("removeOwnedDir refuses a symlink and leaves its target", () => {
    files({ "target/keep": "x" });
    symlinkSync(join(dir, "target"), join(dir, "link"));
    expect(() => removeOwnedDir(join(dir, "link"))).toThrow(/symbolic link/);
    expect(existsSync(join(dir, "target", "keep"))).toBe(true);
    removeOwnedDir(join(dir, "target"));
    expect(existsSync(join(dir, "target"))).toBe(false);
    expect(() => removeOwnedDir(join(dir, "nothing"))).not.toThrow();
  });
});
