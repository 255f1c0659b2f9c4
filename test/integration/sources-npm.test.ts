import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { prepareSource } from "../../src/services/sources/index.js";
import { resolveInstalledBin } from "../../src/services/sources/npm.js";
import type { PrepareOptions } from "../../src/services/types.js";
import { callOnce } from "../fixtures/sources/launch.js";

let tmp: string;
beforeAll(() => void (tmp = mkdtempSync(join(tmpdir(), "herd-sources-npm-"))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const options = (phases: string[] = []): PrepareOptions => ({
  stateDir: join(tmp, "state"),
  installTimeoutMs: 180_000,
  log: silentLogger,
  onPhase: (p) => void phases.push(p),
});

describe("npm source", () => {
  it("installs @modelcontextprotocol/server-everything into its own cache, runs its bin, and reuses the cache", async () => {
    const spec = "@modelcontextprotocol/server-everything";
    const phases: string[] = [];
    const first = await prepareSource("everything", { npm: spec, args: ["stdio"] }, options(phases));
    expect(first.source).toBe("npm");
    expect(phases).toContain("installing");
    expect(first.install_ms).toBeGreaterThan(0);
    expect(first.launch).toMatchObject({ kind: "stdio", command: process.execPath });
    const args = (first.launch as { args: string[] }).args;
    expect(args[0]).toMatch(/cache\/npm\/modelcontextprotocol-server-everything-[0-9a-f]{16}\/node_modules\/@modelcontextprotocol\/server-everything\//);
    expect(args[1]).toBe("stdio");
    expect(readdirSync(join(tmp, "state", "cache", "npm")).filter((d) => d.startsWith(".tmp-"))).toEqual([]);
    expect(await callOnce(first.launch, "echo", { message: "hi" })).toMatch(/hi/);

    // Second prepare: npm cannot even be found, so a cache miss would fail.
    const savedPath = process.env.PATH;
    const empty = join(tmp, "empty-bin");
    mkdirSync(empty, { recursive: true });
    process.env.PATH = empty;
    const phases2: string[] = [];
    try {
      const second = await prepareSource("everything2", { npm: spec }, options(phases2));
      expect(second.install_ms).toBe(0);
      expect(second.detail).toMatch(/cached/);
      expect(phases2).not.toContain("installing");
      expect((second.launch as { args: string[] }).args[0]).toBe(args[0]);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it("fails a spec the registry does not have, with npm's last lines", async () => {
    const err = (await prepareSource("ghost", { npm: "mcp-herd-no-such-package-4d1f0c@1.0.0" }, options()).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/service 'ghost': npm install of 'mcp-herd-no-such-package-4d1f0c@1.0.0' failed/);
    expect(err.message).toMatch(/last \d+ output lines[\s\S]*(E404|404|ENOTFOUND|EAI_AGAIN)/);
    expect(readdirSync(join(tmp, "state", "cache", "npm")).filter((d) => d.startsWith(".tmp-"))).toEqual([]);
  });

  it("refuses registry-external specs before running npm", async () => {
    for (const npm of ["file:/tmp/x", "github:a/b", "https://x/y.tgz", "../x", "-g"]) {
      await expect(prepareSource("bad", { npm }, options())).rejects.toThrow(/npm spec .* refused/);
    }
  });
});

describe("resolveInstalledBin", () => {
  function fakeInstall(name: string, pkg: Record<string, unknown>, files: string[]): string {
    const prefix = mkdtempSync(join(tmp, "prefix-"));
    const dir = join(prefix, "node_modules", ...name.split("/"));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name, ...pkg }));
    for (const f of files) {
      mkdirSync(join(dir, f, ".."), { recursive: true });
      writeFileSync(join(dir, f), "");
    }
    return prefix;
  }
  it("takes a string bin, the entry named like the package, or the only entry", () => {
    const a = fakeInstall("a", { bin: "cli.js" }, ["cli.js"]);
    expect(resolveInstalledBin(a, "a").bin).toBe(join(a, "node_modules/a/cli.js"));
    const b = fakeInstall("@s/b", { bin: { other: "o.js", b: "dist/b.js" } }, ["o.js", "dist/b.js"]);
    expect(resolveInstalledBin(b, "@s/b").bin).toBe(join(b, "node_modules/@s/b/dist/b.js"));
    const c = fakeInstall("c", { bin: { only: "x.js" } }, ["x.js"]);
    expect(resolveInstalledBin(c, "c").bin).toBe(join(c, "node_modules/c/x.js"));
  });
  it("refuses several unnamed bins, no bin, a missing bin, and a bin outside the package", () => {
    expect(() => resolveInstalledBin(fakeInstall("d", { bin: { x: "x.js", y: "y.js" } }, ["x.js", "y.js"]), "d")).toThrow(/several bins \(x, y\)/);
    expect(() => resolveInstalledBin(fakeInstall("e", {}, []), "e")).toThrow(/declares no bin/);
    expect(() => resolveInstalledBin(fakeInstall("f", { bin: "gone.js" }, []), "f")).toThrow(/missing or outside/);
    expect(() => resolveInstalledBin(fakeInstall("g", { bin: "../../../../etc/passwd" }, []), "g")).toThrow(/missing or outside/);
    expect(existsSync("/etc/passwd")).toBe(true);
  });
});
