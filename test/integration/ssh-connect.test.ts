import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshHostIO, type SshHostOptions } from "../../src/backends/ssh/ssh.js";
import { HostUnreachableError } from "../../src/backends/host-io.js";
import { resolveSshTarget, type SshTarget } from "../../src/backends/ssh/sshconfig.js";
import { silentLogger } from "../../src/log.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

let sshd: Sshd;
let dir: string;
const opened: SshHostIO[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  dir = mkdtempSync(join(tmpdir(), "herd-ssh-connect-"));
});

afterAll(async () => {
  await Promise.all(opened.map((io) => io.close()));
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function target(over: Partial<{ identityFile: string; port: number }> = {}): Promise<SshTarget> {
  return resolveSshTarget(
    { host: sshd.host, port: over.port ?? sshd.port, user: sshd.user, identityFile: over.identityFile ?? sshd.identityFile },
    { env: { PATH: process.env.PATH } },
  );
}

function hostIO(t: SshTarget, over: Partial<SshHostOptions> = {}): SshHostIO {
  const io = new SshHostIO({ target: t, connectTimeoutMs: 5000, knownHostsFiles: [sshd.knownHostsFile], log: silentLogger, ...over });
  opened.push(io);
  return io;
}

const run = (io: SshHostIO, command: string) => io.exec({ command, maxOutputBytes: 65536 });
const accepted = () => sshd.logs().match(/Accepted publickey/g)?.length ?? 0;

function otherHostKeyLine(): string {
  const f = join(dir, `other-${Date.now()}`);
  spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", f]);
  return readFileSync(f + ".pub", "utf8").split(" ").slice(0, 2).join(" ");
}

describe("the pooled connection", () => {
  it("serves many calls over one connection, logging in once", async () => {
    // Latency of the warm path is measured in bench/ (npm run bench -- ssh), never asserted here.
    const io = hostIO(await target());
    const before = accepted();
    await run(io, "true");
    await io.stat("/");
    for (let i = 0; i < 50; i++) expect((await run(io, `echo ${i}`)).stdout).toBe(`${i}\n`);
    expect(io.connectionCount).toBe(1);
    expect(accepted() - before).toBe(1);
  });

  it("reconnects after sshd restarts", async () => {
    const io = hostIO(await target());
    expect((await run(io, "echo one")).stdout).toBe("one\n");
    expect((await io.readFile("/etc/hostname", 100)).length).toBeGreaterThan(0);
    await sshd.restart();
    expect((await run(io, "echo two")).stdout).toBe("two\n");
    expect((await io.readFile("/etc/hostname", 100)).length).toBeGreaterThan(0);
    expect(io.connectionCount).toBe(2);
  });

  it("authenticates through ssh-agent (SSH_AUTH_SOCK), with no key file given", async () => {
    const sock = join(dir, "agent.sock");
    const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: "ignore" });
    try {
      const deadline = Date.now() + 5000;
      while (!existsSync(sock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const add = spawnSync("ssh-add", [sshd.identityFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: "utf8", timeout: 5000 });
      expect(add.status, add.stderr).toBe(0);
      const t = await resolveSshTarget({ host: sshd.host, port: sshd.port, user: sshd.user }, { env: { PATH: process.env.PATH, SSH_AUTH_SOCK: sock } });
      expect(t.agent).toBe(sock);
      const io = hostIO({ ...t, identityFiles: [] });
      expect((await run(io, "echo via-agent")).stdout).toBe("via-agent\n");
      await io.close();
    } finally {
      agent.kill();
    }
  });

  it("goes through a ProxyJump hop", async () => {
    const t = await target();
    const io = hostIO({ ...t, jumps: [{ ...t, knownHostsFiles: [sshd.knownHostsFile], jumps: [] }] });
    const r = await run(io, "echo $SSH_CONNECTION");
    expect(r.exit_code).toBe(0);
    expect(r.stdout).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
  });
});

describe("refusals", () => {
  it("a changed host key is refused, naming a possible man-in-the-middle", async () => {
    const kh = join(dir, "known_hosts_changed");
    writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${otherHostKeyLine()}\n`);
    const io = hostIO(await target(), { knownHostsFiles: [kh], acceptNewHostKey: true });
    const err = await run(io, "true").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnreachableError);
    expect((err as Error).message).toMatch(new RegExp(`host key for 127\\.0\\.0\\.1:${sshd.port} changed`));
    expect((err as Error).message).toContain("man-in-the-middle");
    expect((err as Error).message).toMatch(/SHA256:/);
    expect(readFileSync(kh, "utf8").split("\n").filter(Boolean)).toHaveLength(1);
  });

  it("an unknown host is refused unless acceptNewHostKey, which records it", async () => {
    const kh = join(dir, "known_hosts_empty");
    writeFileSync(kh, "");
    const strict = hostIO(await target(), { knownHostsFiles: [kh] });
    await expect(run(strict, "true")).rejects.toThrow(/unknown host key .*set acceptNewHostKey to trust it/);
    expect(readFileSync(kh, "utf8")).toBe("");

    const trusting = hostIO(await target(), { knownHostsFiles: [kh], acceptNewHostKey: true });
    expect((await run(trusting, "echo ok")).stdout).toBe("ok\n");
    expect(readFileSync(kh, "utf8")).toBe(`[127.0.0.1]:${sshd.port} ${sshd.hostKeyPub}\n`);

    const again = hostIO(await target(), { knownHostsFiles: [kh] });
    expect((await run(again, "echo ok")).stdout).toBe("ok\n");
  });

  it("a key the server does not accept is an auth error", async () => {
    const key = join(dir, "stranger");
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    const locked = join(dir, "locked");
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret passphrase", "-f", locked]);
    const t = await target({ identityFile: key });
    const io = hostIO({ ...t, identityFiles: [key, locked] });
    const err = await run(io, "true").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostUnreachableError);
    expect((err as Error).message).toMatch(/authentication refused \(tried: key .*stranger; skipped: .*locked \(encrypted: load it into ssh-agent\)\)/);
  });

  it("sshd down is HostUnreachableError at once (connection refused, not a connect timeout)", async () => {
    const other = await startSshd();
    const t = await resolveSshTarget({ host: other.host, port: other.port, user: other.user, identityFile: other.identityFile }, { env: {} });
    await other.stop();
    const io = hostIO(t, { knownHostsFiles: [sshd.knownHostsFile] });
    const t0 = Date.now();
    const err = await run(io, "true").catch((e: unknown) => e);
    // A refused connect ends in ms; 3 s is a deadline against a hang, and the message below says it was a refusal.
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(err).toBeInstanceOf(HostUnreachableError);
    expect((err as Error).message).toMatch(new RegExp(`^ssh ${other.user}@127\\.0\\.0\\.1:${other.port}: connection refused`));
    await expect(io.stat("/")).rejects.toBeInstanceOf(HostUnreachableError);
  });

  it("a server that never answers hits the connect timeout", async () => {
    const net = await import("node:net");
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const io = hostIO(await target({ port }), { connectTimeoutMs: 700 });
      const t0 = Date.now();
      await expect(run(io, "true")).rejects.toThrow(/timed out/);
      // 0.7 s expected; 10x that is the deadline against a hang.
      expect(Date.now() - t0).toBeLessThan(7000);
    } finally {
      silent.close();
    }
  });
});
