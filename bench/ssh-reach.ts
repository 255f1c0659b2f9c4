/**
 * Issue 15: what each SSH fallback costs. One warm connection each, medians over N calls of
 * a 64 KiB write_file-style atomic write and read, and of a `true` command, on OpenSSH with SFTP,
 * OpenSSH without SFTP (exec path through the agent, and over plain exec channels), and a BusyBox-only
 * chroot (sh, no python3: the persistent sh session, and plain exec channels), and a bash host whose agent
 * cannot start (the session with bash). Run: node --import tsx bench/ssh-reach.ts (as root).
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { SshHostIO, type SshHostOptions } from "../src/backends/ssh/ssh.js";
import { resolveSshTarget } from "../src/backends/ssh/sshconfig.js";
import { silentLogger } from "../src/log.js";
import { buildBusyboxChroot } from "../test/helpers/chroot.js";
import { startSshd, type Sshd } from "../test/helpers/sshd.js";
import { stats } from "./lib.js";

const N = Number(process.env.BENCH_REACH_CALLS ?? 30);
const DATA = randomBytes(64 * 1024);

async function hostIO(s: Sshd, user: string, extra: Partial<SshHostOptions> = {}): Promise<SshHostIO> {
  const target = await resolveSshTarget({ host: "127.0.0.1", port: s.port, user, identityFile: s.identityFile }, { sshBinary: null });
  return new SshHostIO({ target, connectTimeoutMs: 20_000, knownHostsFiles: [s.knownHostsFile], log: silentLogger, ...extra });
}

async function median(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return Math.round(stats(t).median * 10) / 10;
}

async function row(name: string, io: SshHostIO, dir: string): Promise<void> {
  await io.exec({ command: `mkdir -p ${dir}`, maxOutputBytes: 1000 });
  await new Promise((r) => setTimeout(r, 1500));
  const file = `${dir}/bench.bin`;
  const write = await median(() => io.writeFileAtomic(file, DATA));
  const read = await median(() => io.readFile(file, DATA.length));
  const cmd = await median(() => io.exec({ command: "true", maxOutputBytes: 1000 }));
  const t = io.transport();
  process.stdout.write(`| ${name} | ${t.files} | ${t.shell} | ${t.commands} | ${write} | ${read} | ${cmd} |\n`);
}

const chroot = buildBusyboxChroot();
const servers = await Promise.all([
  startSshd(),
  startSshd({ sftp: false }),
  startSshd({ prefix: chroot.prefix, options: chroot.options }),
  startSshd({ prefix: chroot.prefix, options: chroot.options, sftp: false }),
]);
const [full, nosftp, busybox, bareBusybox] = servers;
try {
  process.stdout.write(`medians of ${N} calls, ms (64 KiB write / read)\n| host | files | shell | commands | write | read | true |\n|---|---|---|---|---|---|---|\n`);
  await row("OpenSSH, SFTP, python3", await hostIO(full!, full!.user), "/tmp/herd-bench-full");
  await row("OpenSSH, SFTP, plain exec", await hostIO(full!, full!.user, { execMode: "plain" }), "/tmp/herd-bench-full-plain");
  await row("OpenSSH, no SFTP, python3", await hostIO(nosftp!, nosftp!.user), "/tmp/herd-bench-nosftp");
  await row("OpenSSH, no SFTP, plain exec", await hostIO(nosftp!, nosftp!.user, { execMode: "plain" }), "/tmp/herd-bench-nosftp-plain");
  await row("BusyBox chroot (sh, no python3)", await hostIO(busybox!, "root"), "/tmp/herd-bench-bb");
  await row("BusyBox chroot, plain exec", await hostIO(busybox!, "root", { execMode: "plain" }), "/tmp/herd-bench-bb-plain");
  await row("BusyBox chroot, no SFTP (session)", await hostIO(bareBusybox!, "root"), "/tmp/herd-bench-bb-bare");
  await row("BusyBox chroot, no SFTP, plain exec", await hostIO(bareBusybox!, "root", { execMode: "plain" }), "/tmp/herd-bench-bb-bare-plain");
  await row("OpenSSH, SFTP, no agent (session)", await hostIO(full!, full!.user, { agentInterpreter: "/nonexistent/python3" }), "/tmp/herd-bench-session");
} finally {
  for (const s of servers) await s?.stop();
  chroot.remove();
}
