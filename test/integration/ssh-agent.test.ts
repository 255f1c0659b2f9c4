import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshHostIO, type SshHostOptions } from "../../src/backends/ssh/ssh.js";
import { resolveSshTarget } from "../../src/backends/ssh/sshconfig.js";
import { silentLogger } from "../../src/log.js";
import { waitFor } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

let sshd: Sshd;
let dir: string;
const opened: SshHostIO[] = [];

beforeAll(async () => {
  sshd = await startSshd({ options: ["LogLevel=VERBOSE"] });
  dir = mkdtempSync(join(tmpdir(), "herd-ssh-agent-"));
});

afterAll(async () => {
  await Promise.all(opened.map((io) => io.close()));
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function hostIO(over: Partial<SshHostOptions> = {}): Promise<SshHostIO> {
  const target = await resolveSshTarget({ host: sshd.host, port: sshd.port, user: sshd.user, identityFile: sshd.identityFile }, { env: {} });
  const io = new SshHostIO({ target, connectTimeoutMs: 5000, knownHostsFiles: [sshd.knownHostsFile], log: silentLogger, ...over });
  opened.push(io);
  return io;
}

const SFTP_START = /Starting session: subsystem 'sftp'/g;
const marker = () => `${60 + (randomBytes(2).readUInt16BE(0) % 30)}.${randomBytes(3).readUIntBE(0, 3)}`;
const pids = (pattern: string) => spawnSync("pgrep", ["-f", pattern], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean).map(Number);

describe("the SSH agent (fast path)", () => {
  it("runs 100 commands over one persistent channel, and 16 at once side by side", async () => {
    const io = await hostIO();
    for (let i = 0; i < 100; i++) expect((await io.exec({ argv: ["echo", String(i)], maxOutputBytes: 100 })).stdout).toBe(`${i}\n`);
    expect(io.agentStarts).toBe(1);
    expect(io.connectionCount).toBe(1);
    const t0 = Date.now();
    const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => io.exec({ command: `sleep 2; echo ${i}`, maxOutputBytes: 100 })));
    expect(rs.map((r) => r.stdout)).toEqual(Array.from({ length: 16 }, (_, i) => `${i}\n`));
    // Side by side ~2 s; one after another 32 s. 20 s is 10x the expected time and still tells them apart.
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(io.agentStarts).toBe(1);
  });

  it("escalates to SIGKILL for a group that ignores SIGTERM, and confirms it gone", async () => {
    const io = await hostIO();
    const m = marker();
    const r = await io.exec({ command: `trap '' TERM; while :; do sleep ${m}; done`, timeoutMs: 500, maxOutputBytes: 100 });
    expect(r).toMatchObject({ timed_out: true, killed: true, exit_code: null, signal: "SIGKILL" });
    expect(pids(`sleep ${m}`)).toEqual([]);
  });

  it("fails a command in flight when the agent dies, never runs it twice, and starts a new agent next time", async () => {
    const io = await hostIO();
    const agent = await io.agent();
    expect(agent?.pid).toBeGreaterThan(1);
    const m = marker();
    const log = join(dir, "ran-once");
    const inflight = io.exec({ command: `echo ran >> ${log}; exec sleep ${m}`, maxOutputBytes: 100 });
    expect(await waitFor(() => pids(`sleep ${m}`).length === 1, 5000)).toBe(true);
    process.kill(agent!.pid, "SIGKILL");
    await expect(inflight).rejects.toThrow(/agent running the command went away.*not retried/);
    for (const pid of pids(`sleep ${m}`)) process.kill(pid, "SIGKILL");
    expect(readFileSync(log, "utf8")).toBe("ran\n");
    expect((await io.exec({ command: "echo again", maxOutputBytes: 100 })).stdout).toBe("again\n");
    expect(io.agentStarts).toBe(2);
    expect(readFileSync(log, "utf8")).toBe("ran\n");
  });

  it("survives an sshd restart: the command in flight fails clearly, the next one reconnects", async () => {
    const io = await hostIO();
    expect(await io.agent()).not.toBeNull();
    const inflight = io.exec({ command: "sleep 20", maxOutputBytes: 100 }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 300));
    await sshd.restart();
    expect(String(await inflight)).toMatch(/agent running the command went away.*not retried/);
    expect((await io.exec({ command: "echo back", maxOutputBytes: 100 })).stdout).toBe("back\n");
    expect(io.connectionCount).toBe(2);
    expect(await io.agent()).not.toBeNull();
  });

  it("stops the commands still running when the host is closed", async () => {
    const io = await hostIO();
    const m = marker();
    const running = io.exec({ command: `sleep ${m}`, maxOutputBytes: 100 }).catch((e: Error) => e);
    expect(await waitFor(() => pids(`sleep ${m}`).length === 1, 5000)).toBe(true);
    await io.close();
    const outcome = await running;
    if (!(outcome instanceof Error)) expect(outcome).toMatchObject({ killed: true, timed_out: false });
    expect(await waitFor(() => pids(`sleep ${m}`).length === 0, 8000)).toBe(true);
  });

  it("a slow agent start leaves commands on the plain path until its hello, then takes over", async () => {
    const slow = join(dir, "slow-python3");
    writeFileSync(slow, '#!/bin/sh\nsleep 2\nexec /usr/bin/python3 "$@"\n', { mode: 0o755 });
    const io = await hostIO({ agentInterpreter: slow, connectTimeoutMs: 500 });
    expect((await io.exec({ command: "echo early", maxOutputBytes: 100 })).stdout).toBe("early\n");
    expect(io.agentStarts).toBe(0);
    expect(await waitFor(() => io.agentStarts === 1, 10_000)).toBe(true);
    expect((await io.agent())?.pid).toBeGreaterThan(1);
    expect((await io.exec({ command: "echo late", maxOutputBytes: 100 })).stdout).toBe("late\n");
  });

  it("falls back to the plain path on a host without the interpreter, with the same results", async () => {
    const io = await hostIO({ agentInterpreter: "python3-missing-herd" });
    expect(await io.agent()).toBeNull();
    const r = await io.exec({ command: "echo out; echo err >&2; exit 3", maxOutputBytes: 100 });
    expect(r).toMatchObject({ exit_code: 3, stdout: "out\n", stderr: "err\n" });
    expect(io.agentStarts).toBe(0);
    const plain = await hostIO({ execMode: "plain" });
    expect(await plain.agent()).toBeNull();
  });
});

describe("files over one SFTP session", () => {
  it("30 file operations open one SFTP session", async () => {
    const io = await hostIO();
    const before = sshd.logs().match(SFTP_START)?.length ?? 0;
    for (let i = 0; i < 10; i++) {
      const path = join(dir, `f${i}.txt`);
      await io.writeFileAtomic(path, Buffer.from(`n${i}`));
      expect((await io.readFile(path, 100)).toString()).toBe(`n${i}`);
      expect((await io.stat(path))?.size).toBe(2);
    }
    expect(io.sftpSessionCount).toBe(1);
    expect(await waitFor(() => (sshd.logs().match(SFTP_START)?.length ?? 0) === before + 1, 2000)).toBe(true);
  });
});
