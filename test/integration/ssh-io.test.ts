import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshHostIO } from "../../src/backends/ssh/ssh.js";
import { resolveSshTarget } from "../../src/backends/ssh/sshconfig.js";
import { silentLogger } from "../../src/log.js";
import { waitFor } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

let sshd: Sshd;
let io: SshHostIO;
let dir: string;

beforeAll(async () => {
  sshd = await startSshd();
  dir = mkdtempSync(join(tmpdir(), "herd-ssh-io-"));
  const target = await resolveSshTarget(
    { host: sshd.host, port: sshd.port, user: sshd.user, identityFile: sshd.identityFile },
    { env: { PATH: process.env.PATH } },
  );
  io = new SshHostIO({ target, connectTimeoutMs: 5000, knownHostsFiles: [sshd.knownHostsFile], log: silentLogger });
});

afterAll(async () => {
  await io?.close();
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const MiB = 1024 * 1024;
const envListings = new Map<string, string>();
const HOSTILE = ["a b", "it's", 'say "hi"', "$(touch /tmp/pwned)", "`id`", "line1\nline2\n", "\n", "", "-n", "*", "\\", "é ü 😀", "a\tb;c|d&e>f"];

function running(marker: string): string {
  const r = spawnSync("pgrep", ["-f", marker], { encoding: "utf8" });
  return r.stdout.trim();
}

describe.each(["agent", "plain"] as const)("exec over SSH (%s path)", (mode) => {
  let io: SshHostIO;
  beforeAll(async () => {
    const target = await resolveSshTarget({ host: sshd.host, port: sshd.port, user: sshd.user, identityFile: sshd.identityFile }, { env: {} });
    io = new SshHostIO({ target, connectTimeoutMs: 5000, knownHostsFiles: [sshd.knownHostsFile], log: silentLogger, execMode: mode === "plain" ? "plain" : "auto" });
    expect((await io.agent()) !== null).toBe(mode === "agent");
  });
  afterAll(() => io?.close());

  it("returns stdout, stderr and the exit code", async () => {
    const r = await io.exec({ command: "echo out; echo err >&2; exit 3", maxOutputBytes: MiB });
    expect(r).toMatchObject({ exit_code: 3, signal: null, stdout: "out\n", stderr: "err\n", truncated: false, timed_out: false });
    expect(r.killed).toBeUndefined();
    expect(await io.exec({ command: "kill -9 $$", maxOutputBytes: 100 })).toMatchObject({ exit_code: 137, signal: null });
    expect(await io.exec({ argv: ["no-such-command-herd"], maxOutputBytes: 1000 })).toMatchObject({ exit_code: 127 });
  });

  it("gives the command the login environment, a logical cwd and SHLVL as the plain path does", async () => {
    await io.exec({ argv: ["mkdir", "-p", join(dir, "real")], maxOutputBytes: 100 });
    await io.exec({ argv: ["ln", "-sfn", join(dir, "real"), join(dir, "link")], maxOutputBytes: 100 });
    const r = await io.exec({ command: 'env | grep -v "^SSH_\\|^_=" | sort; pwd; pwd -P', cwd: join(dir, "link"), maxOutputBytes: MiB });
    expect(r.stdout).toContain(`\nPWD=${join(dir, "link")}\n`);
    expect(r.stdout).toContain("\nSHLVL=2\n");
    expect(r.stdout).toMatch(/^HOME=/m);
    expect(r.stdout).not.toMatch(/^(PYENV_VERSION|LC_CTYPE)=/m);
    expect(r.stdout.endsWith(`${join(dir, "link")}\n${join(dir, "real")}\n`)).toBe(true);
    envListings.set(mode, r.stdout);
    if (envListings.size === 2) expect(envListings.get("agent")).toBe(envListings.get("plain"));
  });

  it("runs in cwd with env, byte-exact", async () => {
    const cwd = join(dir, "c w'd $(x)");
    await io.exec({ argv: ["mkdir", "-p", cwd], maxOutputBytes: 1000 });
    const r = await io.exec({ command: 'pwd; printf "%s" "$GREETING"', cwd, env: { GREETING: "hi 'there' $(no)\n`no`" }, maxOutputBytes: MiB });
    expect(r.stdout).toBe(`${cwd}\nhi 'there' $(no)\n\`no\``);
    const bad = await io.exec({ command: "pwd", cwd: join(dir, "missing"), maxOutputBytes: 1000 });
    expect(bad.exit_code).not.toBe(0);
    expect(bad.stderr).toContain("No such file or directory");
  });

  it("passes hostile argv strings through byte-exact, with no shell in between", async () => {
    const r = await io.exec({ argv: ["printf", "[%s]", ...HOSTILE], maxOutputBytes: MiB });
    expect(r.exit_code).toBe(0);
    expect(r.stdout).toBe(HOSTILE.map((s) => `[${s}]`).join(""));
    expect(spawnSync("test", ["-e", "/tmp/pwned"]).status).not.toBe(0);
  });

  it("feeds stdin to the command and never runs it as script", async () => {
    const r = await io.exec({ command: "cat; echo done", stdin: Buffer.from("data\nexit 9\necho injected\n"), maxOutputBytes: MiB });
    expect(r).toMatchObject({ exit_code: 0, stdout: "data\nexit 9\necho injected\ndone\n" });
    const big = randomBytes(3 * MiB);
    const sum = await io.exec({ command: "sha256sum | cut -c1-64", stdin: big, maxOutputBytes: 1000 });
    expect(sum.stdout.trim()).toBe(createHash("sha256").update(big).digest("hex"));
  });

  it("timeout 1 on sleep 30 returns at its timeout and kills the whole group", async () => {
    const marker = `30.${randomBytes(3).readUIntBE(0, 3)}`;
    const t0 = Date.now();
    const r = await io.exec({ command: `(sleep 1${marker} &); sleep ${marker}; echo never`, timeoutMs: 1000, maxOutputBytes: MiB });
    const took = Date.now() - t0;
    expect(r).toMatchObject({ timed_out: true, killed: true, exit_code: null, signal: "SIGTERM", stdout: "" });
    expect(r.stop_unconfirmed).toBeUndefined();
    expect(r.stderr).toBe("");
    // Not before the timeout; ~1 s expected, 10 s is a deadline against a hang.
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(10_000);
    expect(running(`sleep ${marker}`)).toBe("");
    expect(running(`sleep 1${marker}`)).toBe("");
  });

  it("an abort signal kills the command too", async () => {
    const marker = `40.${randomBytes(3).readUIntBE(0, 3)}`;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const r = await io.exec({ command: `sleep ${marker}; true`, maxOutputBytes: MiB }, { signal: ac.signal });
    expect(r).toMatchObject({ timed_out: false, killed: true });
    expect(running(`sleep ${marker}`)).toBe("");
  });

  it("caps 10 MiB of output at the bound, on a UTF-8 boundary", async () => {
    const r = await io.exec({ command: "head -c 10485760 /dev/zero | tr '\\0' a; printf 'é%.0s' $(seq 1000) >&2", maxOutputBytes: MiB + 1 });
    expect(r.exit_code).toBe(0);
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBe(MiB + 1);
    const small = await io.exec({ command: "printf 'é%.0s' $(seq 1000)", maxOutputBytes: 11 });
    expect(small.stdout).toBe("é".repeat(5));
    expect(small.truncated).toBe(true);
  });

  it("streams output as it arrives", async () => {
    const chunks: string[] = [];
    const r = await io.exec({ command: "echo one; sleep 0.2; echo two >&2", maxOutputBytes: MiB }, { onOutput: (c) => chunks.push(`${c.stream}:${c.text}`) });
    expect(r.exit_code).toBe(0);
    expect(chunks.join("")).toBe("stdout:one\nstderr:two\n");
  });

  it("runs more commands at once than sshd allows sessions, on one connection", async () => {
    const rs = await Promise.all(Array.from({ length: 14 }, (_, i) => io.exec({ command: `sleep 0.2; echo ${i}`, maxOutputBytes: 1000 })));
    expect(rs.map((r) => r.stdout)).toEqual(Array.from({ length: 14 }, (_, i) => `${i}\n`));
    expect(io.connectionCount).toBe(1);
  });

  it("refuses bad requests before running anything", async () => {
    await expect(io.exec({ command: "true", argv: ["true"], maxOutputBytes: 1 })).rejects.toThrow(/exactly one of command or argv/);
    await expect(io.exec({ argv: ["echo", "a\0b"], maxOutputBytes: 1 })).rejects.toThrow(/NUL/);
    await expect(io.exec({ command: "true", env: { "A=B": "x" }, maxOutputBytes: 1 })).rejects.toThrow(/invalid env name/);
  });
});

describe("background jobs over SSH", () => {
  it("outlive the connection and write their exit code", async () => {
    const log = join(dir, "bg 'job' $(x).log");
    const bg = await io.execBg({ command: "sleep 1; echo finished; exit 4", log, env: { X: "1" } });
    expect(bg).toMatchObject({ log, rc_file: `${log}.rc` });
    expect(bg.pgid).toBe(bg.pid);
    await io.close();
    const target = await resolveSshTarget({ host: sshd.host, port: sshd.port, user: sshd.user, identityFile: sshd.identityFile }, { env: {} });
    io = new SshHostIO({ target, connectTimeoutMs: 5000, knownHostsFiles: [sshd.knownHostsFile], log: silentLogger });
    expect(await waitFor(async () => (await io.stat(bg.rc_file)) !== null, 10_000)).toBe(true);
    expect((await io.readFile(bg.rc_file, 100)).toString()).toBe("4\n");
    expect((await io.readFile(log, 1000)).toString()).toBe("finished\n");
  });

  it("picks a fresh log when none is given", async () => {
    const bg = await io.execBg({ command: "echo hello", cwd: dir });
    expect(bg.log).toMatch(/herd-bg\./);
    expect(await waitFor(async () => (await io.stat(bg.rc_file)) !== null, 10_000)).toBe(true);
    expect((await io.readFile(bg.log, 100)).toString()).toBe("hello\n");
    await io.exec({ argv: ["rm", "-f", bg.log, bg.rc_file], maxOutputBytes: 100 });
  });
});

describe("files over SFTP", () => {
  const names = ["plain.txt", "sp ace.txt", "q'uo\"te.txt", "$(touch x).txt", "`b`.txt", "new\nline.txt", "ünï.txt"];

  it.each(names)("writes and reads back %j byte-exact", async (name) => {
    const path = join(dir, name);
    const content = Buffer.from(`${name}\n'"$(x)\`y\`\r\n\u0000end`, "utf8");
    await io.writeFileAtomic(path, content);
    expect((await io.readFile(path, MiB)).equals(content)).toBe(true);
    expect(await io.stat(path)).toMatchObject({ type: "file", size: content.length });
  });

  it("round-trips 1 MiB of binary", async () => {
    const data = randomBytes(MiB);
    const path = join(dir, "blob.bin");
    await io.writeFileAtomic(path, data);
    expect((await io.readFile(path, 2 * MiB)).equals(data)).toBe(true);
    expect((await io.readFile(path, 1000)).equals(data.subarray(0, 1000))).toBe(true);
  });

  it("keeps the mode, appends, and leaves no temp file", async () => {
    const path = join(dir, "mode.sh");
    await io.writeFileAtomic(path, Buffer.from("#!/bin/sh\n"), { mode: 0o750 });
    expect((await io.stat(path))?.mode).toBe(0o750);
    await io.writeFileAtomic(path, Buffer.from("echo hi\n"), { append: true, mode: 0o600 });
    expect((await io.stat(path))?.mode).toBe(0o750);
    expect((await io.readFile(path, 100)).toString()).toBe("#!/bin/sh\necho hi\n");
    const entries = await io.listDir(dir);
    expect(entries.filter((e) => e.name.includes(".herd-"))).toEqual([]);
  });

  it("fails cleanly: missing folder, a directory as target, nothing left behind", async () => {
    await expect(io.writeFileAtomic(join(dir, "nope", "f"), Buffer.from("x"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(io.writeFileAtomic(dir, Buffer.from("x"))).rejects.toMatchObject({ code: "EISDIR" });
    await expect(io.readFile(join(dir, "missing"), 10)).rejects.toMatchObject({ code: "ENOENT" });
    expect((await io.listDir(dir)).filter((e) => e.name.includes(".herd-"))).toEqual([]);
  });

  it("stat follows symlinks, lstat does not, writes go through the link", async () => {
    const real = join(dir, "real.txt");
    const link = join(dir, "link.txt");
    await io.writeFileAtomic(real, Buffer.from("one"));
    await io.exec({ argv: ["ln", "-s", real, link], maxOutputBytes: 100 });
    expect((await io.lstat(link))?.type).toBe("symlink");
    expect((await io.stat(link))?.type).toBe("file");
    await io.writeFileAtomic(link, Buffer.from("two"));
    expect((await io.lstat(link))?.type).toBe("symlink");
    expect((await io.readFile(real, 10)).toString()).toBe("two");
    expect(await io.stat(join(dir, "missing"))).toBeNull();
  });

  it("lists a folder with types, sizes and modes", async () => {
    const sub = join(dir, "list");
    await io.exec({ argv: ["mkdir", "-p", join(sub, "child")], maxOutputBytes: 100 });
    await io.writeFileAtomic(join(sub, "b.txt"), Buffer.from("12345"), { mode: 0o640 });
    const entries = await io.listDir(sub);
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ["b.txt", "file"],
      ["child", "dir"],
    ]);
    expect(entries[0]).toMatchObject({ size: 5, mode: 0o640 });
    expect(entries[0]!.mtimeMs).toBeGreaterThan(Date.now() - 3_600_000);
  });

  it("knows the home folder", async () => {
    const r = await io.exec({ command: 'printf %s "$HOME"', maxOutputBytes: 1000 });
    expect(await io.home()).toBe(r.stdout);
  });
});
