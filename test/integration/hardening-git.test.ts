import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { FIXTURES, text } from "../fixtures/services-helpers.js";

/** One recorded git run: its argv and the environment variables that make git safe. */
interface GitRun {
  argv: string[];
  env: Record<string, string>;
}

const ENV_KEYS = ["GIT_TERMINAL_PROMPT", "GIT_CONFIG_NOSYSTEM", "GIT_PROTOCOL_FROM_USER", "GIT_TEMPLATE_DIR"];

// Runs are NUL-separated fields (an argument may hold a newline, never a NUL), one record per line.
function readRuns(file: string): GitRun[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\0\n")
    .filter(Boolean)
    .map((rec) => {
      const [argPart, envPart] = rec.split("\0--env--\0");
      const env = Object.fromEntries(envPart!.split("\0").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
      return { argv: argPart!.split("\0"), env };
    });
}

/** `-c key=value` pairs of one argv. */
function configOf(argv: string[]): string[] {
  return argv.flatMap((a, i) => (argv[i - 1] === "-c" ? [a] : []));
}

describe("git runs safely: argument array, '--' before positionals, no prompt, no hooks, a protocol allow-list", () => {
  let dir: string;
  let repo: string;
  let log: string;
  let sentinel: string;
  let template: string;
  let commit: string;
  let h: Herd;

  const git = (cwd: string, ...args: string[]) => {
    const r = spawnSync("git", ["-c", "user.email=t@example.invalid", "-c", "user.name=t", ...args], { cwd, encoding: "utf8", env: { ...process.env, GIT_TEMPLATE_DIR: "" } });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-hard-git-"));
    repo = join(dir, "repo");
    mkdirSync(repo);
    cpSync(join(FIXTURES, "sources", "node-server"), repo, { recursive: true });
    git(repo, "init", "-q", "-b", "main");
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "first");
    commit = git(repo, "rev-parse", "HEAD");

    // A template whose post-checkout hook writes a sentinel: every clone would copy it in and run it.
    sentinel = join(dir, "SENTINEL-hook-ran");
    template = join(dir, "template");
    mkdirSync(join(template, "hooks"), { recursive: true });
    writeFileSync(join(template, "hooks", "post-checkout"), `#!/bin/sh\necho ran > '${sentinel}'\n`);
    chmodSync(join(template, "hooks", "post-checkout"), 0o755);

    const realGit = spawnSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).stdout.trim();
    expect(realGit).toMatch(/\/git$/);
    const bin = join(dir, "bin");
    mkdirSync(bin);
    log = join(dir, "git-runs.log");
    const envLines = ENV_KEYS.map((k) => `printf '%s=%s\\0' ${k} "\${${k}-<unset>}"`).join("\n  ");
    writeFileSync(
      join(bin, "git"),
      `#!/bin/sh\n{\n  first=1\n  for a in "$@"; do if [ $first = 1 ]; then first=0; else printf '\\0'; fi; printf '%s' "$a"; done\n  printf '\\0--env--\\0'\n  ${envLines}\n  printf '\\n'\n} >> '${log}'\nexec '${realGit}' "$@"\n`,
    );
    chmodSync(join(bin, "git"), 0o755);
    h = await startHerd({ env: { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}`, GIT_TEMPLATE_DIR: template } });
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the control: a plain clone through the same template runs its hook and writes the sentinel", () => {
    const ctl = join(dir, "control");
    const r = spawnSync("git", ["clone", "-q", "--", repo, ctl], { encoding: "utf8", env: { ...process.env, GIT_TEMPLATE_DIR: template } });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(sentinel)).toBe(true);
    rmSync(sentinel);
  });

  it("service_load by branch and by commit: every git run gets '--' before the URL and folder, GIT_TERMINAL_PROMPT=0, core.hooksPath=/dev/null, protocol.allow=never; the template hook never runs", async () => {
    const byBranch = await h.client.callTool({ name: "service_load", arguments: { name: "fromgit", git: repo, ref: "main" } }, undefined, { timeout: 60_000 });
    expect(byBranch.isError, text(byBranch)).toBeFalsy();
    const byCommit = await h.client.callTool({ name: "service_load", arguments: { name: "fromgit", git: `file://${repo}`, ref: commit } }, undefined, { timeout: 60_000 });
    expect(byCommit.isError, text(byCommit)).toBeFalsy();

    const runs = readRuns(log);
    const sub = (r: GitRun) => r.argv.find((a, i) => r.argv[i - 1] !== "-c" && a !== "-c");
    expect(runs.map(sub)).toEqual(["clone", "init", "remote", "fetch", "checkout"]);
    for (const r of runs) {
      expect(r.env.GIT_TERMINAL_PROMPT, r.argv.join(" ")).toBe("0");
      expect(r.env.GIT_CONFIG_NOSYSTEM).toBe("1");
      const config = configOf(r.argv);
      expect(config).toContain("core.hooksPath=/dev/null");
      expect(config).toContain("protocol.allow=never");
      expect(config.filter((c) => /^protocol\.[a-z]+\.allow=always$/.test(c)).map((c) => c.split(".")[1]).sort()).toEqual(["file", "git", "http", "https", "ssh"]);
    }
    const clone = runs[0]!.argv;
    const dash = clone.indexOf("--");
    expect(dash).toBeGreaterThan(clone.indexOf("clone"));
    expect(clone.slice(dash + 1)).toHaveLength(2);
    expect(clone[dash + 1]).toBe(repo);
    expect(clone.slice(clone.indexOf("clone"), dash)).toEqual(["clone", "--depth", "1", "--quiet", "--branch", "main"]);
    const init = runs[1]!.argv;
    expect(init.slice(init.indexOf("--") + 1)).toHaveLength(1);
    const remote = runs[2]!.argv;
    expect(remote.slice(remote.indexOf("--"))).toEqual(["--", "origin", `file://${repo}`]);
    const fetch = runs[3]!.argv;
    expect(fetch.slice(fetch.indexOf("--"))).toEqual(["--", "origin", commit]);

    // The template reached git (its hook was copied into the clone); only core.hooksPath kept it from running.
    expect(existsSync(join(h.stateDir, "services", "fromgit", "src", ".git", "hooks", "post-checkout"))).toBe(true);
    expect(existsSync(sentinel)).toBe(false);
  });
});
