import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { prepareSource } from "../../src/services/sources/index.js";
import type { PrepareOptions } from "../../src/services/types.js";
import { allText, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { listServices } from "../helpers/replicas.js";

const FIXTURES = resolve(import.meta.dirname, "../fixtures/sources");

let tmp: string;
let repo: string;

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync("git", ["-c", "user.email=t@example.invalid", "-c", "user.name=t", ...args], { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

function commitLabel(label: string): void {
  writeFileSync(join(repo, "label.txt"), label + "\n");
  git(repo, "add", "-A");
  git(repo, "commit", "-qm", label);
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "herd-scale-git-"));
  repo = join(tmp, "repo");
  mkdirSync(repo);
  cpSync(join(FIXTURES, "node-server"), repo, { recursive: true });
  git(repo, "init", "-q", "-b", "main");
  commitLabel("first");
  git(repo, "tag", "v1");
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("a follower uses the clone another process sharing the state folder made, instead of replacing it under that process's service", () => {
  it("reuseClone keeps the clone of the same url and ref in place; another ref, or no reuseClone, clones afresh as before", async () => {
    const stateDir = join(tmp, "state-unit");
    const opts = (reuseClone?: boolean): PrepareOptions => ({ stateDir, installTimeoutMs: 60_000, log: silentLogger, ...(reuseClone ? { reuseClone } : {}) });
    const src = join(stateDir, "services", "g", "src");
    const url = `file://${repo}`;
    await prepareSource("g", { git: url }, opts());
    const made = statSync(src).ino;
    expect(JSON.parse(readFileSync(join(src, ".git", "mcp-herd-clone.json"), "utf8"))).toEqual({ url, ref: null });
    commitLabel("second");
    await prepareSource("g", { git: url }, opts(true));
    expect(statSync(src).ino).toBe(made);
    expect(readFileSync(join(src, "label.txt"), "utf8")).toBe("first\n");
    // Another ref is another clone; and a load without reuseClone is a fresh clone, as in a single process.
    await prepareSource("g", { git: url, ref: "v1" }, opts(true));
    expect(statSync(src).ino).not.toBe(made);
    await prepareSource("g", { git: url }, opts());
    expect(readFileSync(join(src, "label.txt"), "utf8")).toBe("second\n");
  });

  it("a symlink where the clone should be is never reused (the clone path refuses it as before)", async () => {
    const stateDir = join(tmp, "state-link");
    const elsewhere = join(tmp, "elsewhere");
    mkdirSync(join(elsewhere, ".git"), { recursive: true });
    writeFileSync(join(elsewhere, ".git", "mcp-herd-clone.json"), JSON.stringify({ url: `file://${repo}`, ref: null }));
    mkdirSync(join(stateDir, "services", "l"), { recursive: true });
    symlinkSync(elsewhere, join(stateDir, "services", "l", "src"));
    await expect(prepareSource("l", { git: `file://${repo}` }, { stateDir, installTimeoutMs: 60_000, log: silentLogger, reuseClone: true })).rejects.toThrow(/symbolic link|symlink/);
  });
});

describe("replicas following a git service", () => {
  const herds: Herd[] = [];
  afterEach(async () => {
    await Promise.all(herds.splice(0).map((h) => h.close()));
  });

  it("B runs A's clone: the folder A's child runs from is not swapped when B starts it", async () => {
    const state = join(tmp, "state-replicas");
    const env = { MCP_HERD_FOLLOW_POLL_MS: "200" };
    const [a, b] = await Promise.all([
      startHerd({ http: true, stateDir: state, args: ["--follow-state"], env }),
      startHerd({ http: true, stateDir: state, args: ["--follow-state"], env }),
    ]);
    herds.push(a!, b!);
    const r = (await a!.client.callTool({ name: "service_load", arguments: { name: "fromgit", git: `file://${repo}` } })) as CallToolResult;
    expect(r.isError, allText(r)).toBeFalsy();
    const src = join(state, "services", "fromgit", "src");
    const ino = statSync(src).ino;
    const runningOnB = async () => (await listServices(b!)).fromgit?.status === "running";
    expect(await waitFor(runningOnB, 30_000)).toBe(true);
    expect(statSync(src).ino).toBe(ino);
    for (const h of [a!, b!]) {
      const c = (await h.client.callTool({ name: "fromgit__echo", arguments: { text: "same clone" } })) as CallToolResult;
      expect(c.isError, allText(c)).toBeFalsy();
      expect(allText(c)).toContain("same clone");
    }
  }, 90_000);
});
