import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshHostIO } from "../../src/backends/ssh/ssh.js";
import { resolveSshTarget } from "../../src/backends/ssh/sshconfig.js";
import { silentLogger } from "../../src/log.js";
import { buildBusyboxChroot, type BusyboxChroot } from "../helpers/chroot.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const MiB = 1024 * 1024;
const running = (marker: string) => spawnSync("pgrep", ["-f", marker], { encoding: "utf8" }).stdout.trim();

describe("the persistent sh session (no python3 on the host): framed commands on one channel", () => {
  let chroot: BusyboxChroot;
  let sshd: Sshd;
  let io: SshHostIO;

  beforeAll(async () => {
    chroot = buildBusyboxChroot();
    sshd = await startSshd({ prefix: chroot.prefix, options: chroot.options });
    const target = await resolveSshTarget({ host: "127.0.0.1", port: sshd.port, user: "root", identityFile: sshd.identityFile }, { sshBinary: null });
    io = new SshHostIO({ target, connectTimeoutMs: 20_000, knownHostsFiles: [sshd.knownHostsFile], log: silentLogger });
    await io.exec({ command: "true", maxOutputBytes: 100 });
    await io.exec({ command: "true", maxOutputBytes: 100 });
  }, 60_000);
  afterAll(async () => {
    await io?.close();
    await sshd?.stop();
    chroot?.remove();
  });

  it("runs commands on one channel: output without a final newline, stderr, rc, stdin, env, cwd, marker look-alikes", async () => {
    expect(io.transport()).toMatchObject({ shell: "sh", commands: "shell-session" });
    const before = io.connectionCount;
    const r = await io.exec({ command: 'printf "a\\036herd-end-x 0\\nb"; printf err >&2; exit 3', maxOutputBytes: MiB });
    expect(r).toMatchObject({ exit_code: 3, stdout: "a\x1eherd-end-x 0\nb", stderr: "err", timed_out: false });
    const e = await io.exec({ command: 'cat; printf "[%s][%s]" "$X" "$PWD"', stdin: Buffer.from("in\n$(x)"), env: { X: "a'b" }, cwd: "/tmp", maxOutputBytes: MiB });
    expect(e).toMatchObject({ exit_code: 0, stdout: "in\n$(x)[a'b][/tmp]" });
    for (let i = 0; i < 20; i++) expect((await io.exec({ command: `echo ${i}`, maxOutputBytes: 100 })).stdout).toBe(`${i}\n`);
    expect(io.connectionCount).toBe(before);
    expect(io.transport().commands).toBe("shell-session");
  });

  it("a timeout kills the command's group and the session goes on; a daemon on stdout does not hold the result", async () => {
    const marker = `7${randomBytes(3).readUIntBE(0, 3)}`;
    const t0 = Date.now();
    const r = await io.exec({ command: `sleep ${marker}`, timeoutMs: 1000, maxOutputBytes: MiB });
    expect(r).toMatchObject({ timed_out: true, killed: true, exit_code: null, signal: "SIGTERM" });
    // ~1 s expected; 10 s is a deadline against a hang.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(running(`sleep ${marker}`)).toBe("");
    const d = await io.exec({ command: "sleep 3 & echo started", timeoutMs: 5000, maxOutputBytes: MiB });
    expect(d).toMatchObject({ exit_code: 0, stdout: "started\n", timed_out: false });
    expect((await io.exec({ command: "echo after", maxOutputBytes: 100 })).stdout).toBe("after\n");
  });

  it("commands at once: one on the session, the others on their own exec channels, all correct", async () => {
    const rs = await Promise.all(Array.from({ length: 4 }, (_, i) => io.exec({ command: `sleep 0.3; echo p${i}`, maxOutputBytes: 100 })));
    expect(rs.map((r) => r.stdout)).toEqual(["p0\n", "p1\n", "p2\n", "p3\n"]);
  });
});
