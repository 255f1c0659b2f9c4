import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, alive, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

type Data = Record<string, unknown>;
const data = (r: CallToolResult) => (r.structuredContent ?? {}) as Data;

/** Pids of live (non-zombie) processes in a process group. */
function groupMembers(pgid: number): number[] {
  const r = spawnSync("pgrep", ["-g", String(pgid)], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      const st = spawnSync("ps", ["-o", "stat=", "-p", String(pid)], { encoding: "utf8" }).stdout.trim();
      return st !== "" && !st.startsWith("Z");
    });
}

describe("background jobs over local and ssh: start, follow by offset, kill, survive a restart", () => {
  let dir: string;
  let stateDir: string;
  let config: string;
  let sshd: Sshd;
  let hub: Herd;
  const call = async (name: string, args: Data) =>
    (await hub.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-jobs-"));
    stateDir = join(dir, "state");
    sshd = await startSshd();
    config = join(dir, "hub.json");
    writeFileSync(
      config,
      JSON.stringify({
        hosts: [{ name: "s1", ssh: sshd.hostSpec() }],
      }),
    );
    hub = await startHerd({ args: ["--config", config], stateDir });
  });
  afterAll(async () => {
    await hub?.close();
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(["local", "s1"])("starts a job on %s, follows it with advancing offsets, kills its whole group", async (host) => {
    const log = join(dir, `follow-${host}.log`);
    const t0 = Date.now();
    const bg = await call("remote_shell_bg", {
      host,
      log,
      command: "for i in $(seq 1 400); do echo line-$i; sleep 0.02; done; sleep 120 & sleep 121; wait",
    });
    // The job runs 8 s and more; its id comes at once (~0.2 s): 2 s is the promised bound and 10x that.
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(bg.isError, text(bg)).toBeFalsy();
    const job = data(bg).job as string;
    const pgid = data(bg).pgid as number;
    expect(job).toBe(`${host}:${data(bg).pid}:${pgid}:${log}`);
    expect(text(bg)).toContain(`job: ${job}`);

    expect(await waitFor(async () => (data(await call("remote_job_output", { job, offset: 0 })).next_offset as number) > 0, 10_000)).toBe(true);
    let offset = 0;
    let seen = "";
    const offsets: number[] = [];
    for (let i = 0; i < 4; i++) {
      const o = await call("remote_job_output", { job, offset });
      expect(o.isError, text(o)).toBeFalsy();
      expect(data(o).offset).toBe(offset);
      seen += data(o).output as string;
      offset = data(o).next_offset as number;
      offsets.push(offset);
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(offsets[3]!).toBeGreaterThan(offsets[0]!);
    expect(readFileSync(log, "utf8").startsWith(seen)).toBe(true);
    expect(seen.startsWith("line-1\nline-2\n")).toBe(true);

    const last = await call("remote_job_output", { job, lines: 2 });
    expect((data(last).output as string).trim().split("\n")).toHaveLength(2);

    const st = await call("remote_job_status", { job });
    expect(data(st)).toMatchObject({ state: "running", exit_code: null, group_alive: true, host });
    expect(groupMembers(pgid).length).toBeGreaterThan(1);

    const k = await call("remote_job_kill", { job });
    expect(k.isError, text(k)).toBeFalsy();
    expect(data(k)).toMatchObject({ gone: true, state: "killed", group_alive: false });
    expect(alive(data(bg).pid as number)).toBe(false);
    expect(groupMembers(pgid)).toEqual([]);
  });

  it("refuses job ids that are not host:pid:pgid:/absolute/path", async () => {
    for (const job of ["local:1:1:/tmp/x", "local:12:12:relative.log", "local:abc:12:/tmp/x", "local:12:12:/tmp/x\n; rm -rf /", "local:12:12:/tmp/../etc/passwd"]) {
      const r = await call("remote_job_status", { job });
      expect(r.isError, job).toBe(true);
      expect(text(r)).toMatch(/job id .* is not of the form host:pid:pgid/);
    }
  });

  it("on_timeout background returns the handle and the output so far, and the job finishes later with its rc", async () => {
    const t0 = Date.now();
    const r = await call("remote_shell", { host: "s1", command: "echo started; sleep 2.5; echo finished; exit 7", timeout: 1, on_timeout: "background" });
    // ~1 s expected; 10 s is a deadline against a hang.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.isError, text(r)).toBeFalsy();
    expect(data(r)).toMatchObject({ backgrounded: true, exit_code: null, via: "ssh" });
    expect(data(r).stdout).toContain("started");
    expect(text(r)).toMatch(/still running after 1s/);
    const job = data(r).job as string;
    expect(await waitFor(async () => data(await call("remote_job_status", { job })).state === "exited", 15_000, 250)).toBe(true);
    const st = await call("remote_job_status", { job });
    expect(data(st).exit_code).toBe(7);
    const out = await call("remote_job_output", { job, offset: data(r).next_offset as number });
    expect(data(out).output).toContain("finished");

    const quick = await call("remote_shell", { host: "local", command: "echo quick", timeout: 10, on_timeout: "background" });
    expect(quick.isError, text(quick)).toBeFalsy();
    expect(data(quick)).toMatchObject({ exit_code: 0, stdout: "quick\n", backgrounded: false, timed_out: false });
  });

  it("a job survives a restart of mcp-herd: jobs.json (0600) keeps it and status still answers", async () => {
    const bg = await call("remote_shell_bg", { host: "local", command: "sleep 2; echo done; exit 3" });
    const job = data(bg).job as string;
    await hub.close();
    const file = join(stateDir, "jobs.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, "utf8")).jobs.map((j: { id: string }) => j.id)).toContain(job);

    hub = await startHerd({ args: ["--config", config], stateDir });
    const list = await call("remote_job_list", {});
    expect(JSON.stringify(data(list).jobs)).toContain(JSON.stringify(job));
    expect(await waitFor(async () => data(await call("remote_job_status", { job })).state === "exited", 15_000, 250)).toBe(true);
    const st = await call("remote_job_status", { job });
    expect(data(st)).toMatchObject({ exit_code: 3, command: "sleep 2; echo done; exit 3" });
  });
});
