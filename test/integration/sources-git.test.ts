import { spawnSync } from "node:child_process";
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { createContext } from "../../src/services/sources/context.js";
import { cloneInto } from "../../src/services/sources/git.js";
import { prepareSource } from "../../src/services/sources/index.js";
import type { PrepareOptions } from "../../src/services/types.js";
import { callOnce } from "../fixtures/sources/launch.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/sources");

let tmp: string;
let repo: string;
let firstCommit: string;

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync("git", ["-c", "user.email=t@example.invalid", "-c", "user.name=t", ...args], { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

function commitLabel(label: string): string {
  writeFileSync(join(repo, "label.txt"), label + "\n");
  git(repo, "add", "-A");
  git(repo, "commit", "-qm", label);
  return git(repo, "rev-parse", "HEAD");
}

const options = (): PrepareOptions => ({ stateDir: join(tmp, "state"), installTimeoutMs: 60_000, log: silentLogger });

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "herd-sources-git-"));
  repo = join(tmp, "repo");
  mkdirSync(repo);
  cpSync(join(FIXTURES, "node-server"), repo, { recursive: true });
  git(repo, "init", "-q", "-b", "main");
  firstCommit = commitLabel("first");
  git(repo, "tag", "v1");
  commitLabel("main-head");
  git(repo, "checkout", "-q", "-b", "feature");
  commitLabel("feature-head");
  git(repo, "checkout", "-q", "main");
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function labelOf(spec: { git: string; ref?: string }): Promise<string> {
  const p = await prepareSource("gitsvc", spec, options());
  expect(p.source).toBe("git");
  expect(p.launch).toMatchObject({ kind: "stdio", cwd: join(tmp, "state", "services", "gitsvc", "src") });
  return JSON.parse(await callOnce(p.launch, "whoami")).label;
}

describe("git source", () => {
  it("clones the default branch, a branch, a tag and a commit, each replacing the last", async () => {
    expect(await labelOf({ git: `file://${repo}` })).toBe("main-head");
    expect(await labelOf({ git: `file://${repo}`, ref: "feature" })).toBe("feature-head");
    expect(await labelOf({ git: repo, ref: "v1" })).toBe("first");
    expect(await labelOf({ git: `file://${repo}`, ref: firstCommit })).toBe("first");
    const base = join(tmp, "state", "services", "gitsvc");
    expect(readdirSync(base)).toEqual(["src"]);
  });

  it("fails an unknown ref with git's own message and leaves no temp folder", async () => {
    const err = (await prepareSource("gitbad", { git: `file://${repo}`, ref: "no-such-branch" }, options()).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/service 'gitbad': git clone of .* at no-such-branch failed \(exit code \d+\)/);
    expect(err.message).toMatch(/no-such-branch/);
    expect(readdirSync(join(tmp, "state", "services", "gitbad"))).toEqual([]);
  });

  it("refuses to delete a symlink where its clone folder should be", async () => {
    const base = join(tmp, "state", "services", "linked");
    mkdirSync(base, { recursive: true });
    const victim = join(tmp, "victim");
    mkdirSync(victim);
    writeFileSync(join(victim, "keep"), "x");
    symlinkSync(victim, join(base, "src"));
    await expect(prepareSource("linked", { git: `file://${repo}` }, options())).rejects.toThrow(/refusing to delete .*symbolic link/);
    expect(existsSync(join(victim, "keep"))).toBe(true);
    expect(lstatSync(join(base, "src")).isSymbolicLink()).toBe(true);
  });

  it.each([
    ["ext::sh -c touch% SENTINEL", /remote helpers/],
    ["--upload-pack=touch SENTINEL", /starts with '-'/],
    ["-uSENTINEL", /starts with '-'/],
    ["fd::3", /remote helpers/],
    ["ssh://-oProxyCommand=touch%20SENTINEL/x", /host/],
  ])("refuses %j and runs nothing", async (url, re) => {
    const sentinel = join(tmp, `sentinel-${Math.random().toString(36).slice(2)}`);
    const err = (await prepareSource("hostile", { git: url.replace("SENTINEL", sentinel) }, options()).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(re);
    expect(existsSync(sentinel)).toBe(false);
    expect(existsSync(join(tmp, "state", "services", "hostile"))).toBe(false);
  });

  it("refuses a ref that would be an option, and runs nothing", async () => {
    const sentinel = join(tmp, "sentinel-ref");
    await expect(prepareSource("hostile", { git: `file://${repo}`, ref: `--upload-pack=touch ${sentinel}` }, options())).rejects.toThrow(/git ref/);
    await expect(prepareSource("hostile", { git: `file://${repo}`, ref: "-x" }, options())).rejects.toThrow(/starts with '-'/);
    expect(existsSync(sentinel)).toBe(false);
    expect(existsSync(join(tmp, "state", "services", "hostile"))).toBe(false);
  });

  it("blocks ext:: in git itself too (second layer, validation bypassed)", async () => {
    const sentinel = join(tmp, "sentinel-layer2");
    const ctx = createContext("layer2", {}, options());
    await expect(cloneInto(ctx, `ext::sh -c touch% ${sentinel}`, undefined)).rejects.toThrow(/transport 'ext' not allowed/);
    expect(existsSync(sentinel)).toBe(false);
  });
});
