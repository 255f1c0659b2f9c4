/**
 * Issue 8, items 4 and 5: warm `remote_shell` over SSH through mcp-herd (the agent fast path) against
 * OpenSSH (a fresh `ssh host true`, and ControlMaster reuse) and our plain exec path; 16 commands at
 * once against one; fan-out over 1, 4, 16 and 64 sshd instances on loopback.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SshHostIO } from "../src/backends/ssh/ssh.js";
import { resolveSshTarget } from "../src/backends/ssh/sshconfig.js";
import { silentLogger } from "../src/log.js";
import { startSshd, type Sshd } from "../test/helpers/sshd.js";
import { CLI, stats, stdioClient, timeSeq, type Proc, type Row } from "./lib.js";

const N = Number(process.env.BENCH_SSH_CALLS ?? 200);
/** Samples for the slow baselines (each costs 80-300 ms). */
const SLOW_N = Number(process.env.BENCH_SSH_SLOW_CALLS ?? 30);
const FANOUT = (process.env.BENCH_SSH_FANOUT ?? "1,4,16,64").split(",").map(Number);

/** mcp-herd over stdio with a config naming `sshds` as hosts s0, s1, ... */
async function herdFor(dir: string, sshds: Sshd[], env: Record<string, string> = {}): Promise<Proc> {
  const stateDir = mkdtempSync(join(dir, "state-"));
  const config = join(stateDir, "config.json");
  const hosts = sshds.map((s, i) => ({ name: `s${i}`, ssh: s.hostSpec() }));
  writeFileSync(config, JSON.stringify({ hosts }));
  return stdioClient(process.execPath, [CLI, "--state-dir", stateDir, "--config", config, "--log-level", "warn"], env);
}

async function shell(c: Client, host: string, command = "true", parallel?: number): Promise<void> {
  const r = await c.callTool({ name: "remote_shell", arguments: { host, command, ...(parallel ? { parallel } : {}) } });
  if (r.isError) throw new Error(`remote_shell on ${host} failed: ${JSON.stringify(r.content).slice(0, 300)}`);
}

/** Runs a process to its end (bounded); rejects on a non-zero exit. */
function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.slice(-2).join(" ")} exited ${code}: ${err.trim().slice(0, 300)}`));
    });
  });
}

const opensshArgs = (s: Sshd, extra: string[] = []) => [
  "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", s.identityFile,
  "-o", `UserKnownHostsFile=${s.knownHostsFile}`, "-o", "StrictHostKeyChecking=yes", "-p", String(s.port), ...extra,
  `${s.user}@127.0.0.1`,
];

/** CPU ms of a process and of its reaped children (clock ticks of 10 ms), from /proc. */
function procCpu(pid: number): { self: number; children: number } {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ").map(Number);
  return { self: (f[11]! + f[12]!) * 10, children: (f[13]! + f[14]!) * 10 };
}

/** Median wall time of `rounds` batches of `width` calls started together. */
async function batches(rounds: number, width: number, call: (i: number) => Promise<void>): Promise<number> {
  await Promise.all(Array.from({ length: width }, (_, i) => call(i)));
  const walls: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: width }, (_, i) => call(i)));
    walls.push(performance.now() - t0);
  }
  return stats(walls).median;
}

/** Medians of warm remote_shell_bg, remote_job_status, remote_job_output and remote_job_kill on `host`, `n` of each. */
async function jobs(c: Client, host: string, n: number): Promise<{ bg: number; status: number; output: number; kill: number }> {
  const call = async (name: string, args: Record<string, unknown>) => {
    const r = await c.callTool({ name, arguments: args });
    if (r.isError) throw new Error(`${name} on ${host} failed: ${JSON.stringify(r.content).slice(0, 300)}`);
    return r.structuredContent as { job?: string };
  };
  const start = async (command: string) => (await call("remote_shell_bg", { host, command })).job!;
  const ids: string[] = [];
  const bg = stats(await timeSeq(n, async () => void ids.push(await start("echo hi")), 2));
  const status = stats(await timeSeq(n, (i) => call("remote_job_status", { job: ids[i % ids.length] }), 2));
  const output = stats(await timeSeq(n, (i) => call("remote_job_output", { job: ids[i % ids.length] }), 2));
  const sleepers = await Promise.all(Array.from({ length: n }, () => start("sleep 60")));
  const kill = stats(await timeSeq(n, (i) => call("remote_job_kill", { job: sleepers[i] }), 0));
  return { bg: bg.median, status: status.median, output: output.median, kill: kill.median };
}

async function latency(rows: Row[], dir: string, s: Sshd): Promise<void> {
  const fresh = stats(await timeSeq(SLOW_N, () => run("ssh", [...opensshArgs(s), "true"]), 2));
  const cm = ["-o", "ControlMaster=auto", "-o", `ControlPath=${join(dir, "cm-%p")}`, "-o", "ControlPersist=60"];
  let master: ReturnType<typeof stats>;
  try {
    master = stats(await timeSeq(Math.max(SLOW_N, 50), () => run("ssh", [...opensshArgs(s, cm), "true"]), 3));
  } finally {
    await run("ssh", [...opensshArgs(s, ["-o", `ControlPath=${join(dir, "cm-%p")}`, "-O", "exit"])]).catch(() => undefined);
  }

  const target = await resolveSshTarget({ host: s.host, port: s.port, user: s.user, identityFile: s.identityFile }, { env: {} });
  const io = new SshHostIO({ target, connectTimeoutMs: 10_000, knownHostsFiles: [s.knownHostsFile], log: silentLogger });
  const exec = () => io.exec({ command: "true", maxOutputBytes: 1 << 20 }).then(() => undefined);
  const direct = stats(await timeSeq(N, exec, 20));
  const direct16 = await batches(20, 16, exec);
  const agentPid = (await io.agent())?.pid ?? 0;
  const sshdPid = Number(readFileSync(`/proc/${agentPid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
  const [a0, s0, n0] = [procCpu(agentPid), procCpu(sshdPid), process.cpuUsage()];
  const K = 500;
  for (let i = 0; i < K; i++) await exec();
  const [a1, s1, n1] = [procCpu(agentPid), procCpu(sshdPid), process.cpuUsage(n0)];
  const per = (x: number) => (x / K).toFixed(2);
  const cpu = `CPU per command: client ${per((n1.user + n1.system) / 1000)}, sshd ${per(s1.self - s0.self)}, agent ${per(a1.self - a0.self)}, bash ${per(a1.children - a0.children)} ms`;
  await io.close();

  const h = await herdFor(dir, [s]);
  let fast: ReturnType<typeof stats>;
  let one: ReturnType<typeof stats>;
  let sixteen: number;
  let oneSleep: ReturnType<typeof stats>;
  let sixteenSleep: number;
  let bgFast: Awaited<ReturnType<typeof jobs>>;
  try {
    fast = stats(await timeSeq(N, () => shell(h.client, "s0"), 20));
    one = fast;
    sixteen = await batches(20, 16, () => shell(h.client, "s0"));
    oneSleep = stats(await timeSeq(10, () => shell(h.client, "s0", "sleep 0.1"), 2));
    sixteenSleep = await batches(10, 16, () => shell(h.client, "s0", "sleep 0.1"));
    bgFast = await jobs(h.client, "s0", 40);
  } finally {
    await h.close();
  }

  const p = await herdFor(dir, [s], { MCP_HERD_SSH_EXEC: "plain" });
  let plain: ReturnType<typeof stats>;
  let plain16: number;
  let bgPlain: Awaited<ReturnType<typeof jobs>>;
  try {
    plain = stats(await timeSeq(SLOW_N, () => shell(p.client, "s0"), 3));
    plain16 = await batches(3, 16, () => shell(p.client, "s0"));
    bgPlain = await jobs(p.client, "s0", 10);
  } finally {
    await p.close();
  }

  rows.push({ figure: "ssh: warm remote_shell true vs fresh `ssh host true`", herd: fast.median, baseline: fresh.median, unit: "ms", target: "<= 3 ms, ~1/100", note: `p99 ${fast.p99.toFixed(2)} ms; ${N} calls; baseline ${SLOW_N} runs` });
  rows.push({ figure: "ssh: warm remote_shell true vs OpenSSH ControlMaster", herd: fast.median, baseline: master.median, unit: "ms", target: "<= 1/25" });
  rows.push({ figure: "ssh: warm remote_shell true vs our plain exec path", herd: fast.median, baseline: plain.median, unit: "ms", note: `plain path p99 ${plain.p99.toFixed(1)} ms` });
  rows.push({ figure: "ssh: SshHostIO.exec true in-process (no MCP)", herd: direct.median, unit: "ms", note: `p99 ${direct.p99.toFixed(2)} ms` });
  rows.push({ figure: "ssh: in-process, 16 concurrent true vs one", herd: direct16, baseline: direct.median, unit: "ms", note: cpu });
  rows.push({ figure: "ssh: 16 concurrent remote_shell true vs one", herd: sixteen, baseline: one.median, unit: "ms", target: "<= 2x", note: "CPU-bound: 16 bash starts on 2 cores" });
  rows.push({ figure: "ssh: 16 concurrent remote_shell 'sleep 0.1' vs one", herd: sixteenSleep, baseline: oneSleep.median, unit: "ms", target: "<= 2x" });
  for (const k of ["bg", "status", "output", "kill"] as const) {
    const name = k === "bg" ? "remote_shell_bg 'echo hi'" : `remote_job_${k}`;
    rows.push({ figure: `ssh: warm ${name} (agent) vs the plain exec path`, herd: bgFast[k], baseline: bgPlain[k], unit: "ms", target: "<= 5 ms" });
  }
  rows.push({ figure: "ssh: plain path, 16 concurrent true vs one", herd: plain16, baseline: plain.median, unit: "ms", note: "sshd sets sessions up one at a time" });
}

async function fanout(rows: Row[], dir: string, sshds: Sshd[]): Promise<void> {
  const max = Math.max(...FANOUT);
  let startError = "";
  while (sshds.length < max) {
    const batch = Math.min(8, max - sshds.length);
    const started = await Promise.allSettled(Array.from({ length: batch }, () => startSshd()));
    for (const r of started) {
      if (r.status === "fulfilled") sshds.push(r.value);
      else startError ||= (r.reason as Error).message.slice(0, 120);
    }
    if (startError) break;
  }
  const h = await herdFor(dir, sshds);
  try {
    const all = sshds.map((_, i) => `s${i}`);
    // Warm until every host answers through its agent (agents that start slowly under the cold-start load take over later).
    const end = Date.now() + 60_000;
    for (;;) {
      const r = await h.client.callTool({ name: "remote_shell", arguments: { host: all.join(","), command: "true", parallel: sshds.length } });
      const slowest = Math.max(...((r.structuredContent as { results?: { duration_ms?: number }[] }).results ?? []).map((x) => x.duration_ms ?? 1e9));
      if ((!r.isError && slowest < 60) || Date.now() > end) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    const single = stats(await timeSeq(50, () => shell(h.client, "s0"), 5)).median;
    rows.push({ figure: "fan-out: remote_shell true on 1 host", herd: single, unit: "ms" });
    const singleSleep = stats(await timeSeq(5, () => shell(h.client, "s0", "sleep 0.1"), 1)).median;
    rows.push({ figure: "fan-out: remote_shell 'sleep 0.1' on 1 host", herd: singleSleep, unit: "ms" });
    for (const n of FANOUT.filter((x) => x > 1 && x <= sshds.length)) {
      const sel = all.slice(0, n).join(",");
      const wall = stats(await timeSeq(20, () => shell(h.client, sel, "true", n), 3)).median;
      rows.push({ figure: `fan-out: remote_shell true on ${n} hosts (comma list)`, herd: wall, baseline: single, unit: "ms", target: n <= 16 ? "<= 2x" : "", note: `parallel ${n}; CPU-bound on ${cpus().length} cores` });
      const sleepWall = stats(await timeSeq(5, () => shell(h.client, sel, "sleep 0.1", n), 1)).median;
      rows.push({ figure: `fan-out: remote_shell 'sleep 0.1' on ${n} hosts`, herd: sleepWall, baseline: singleSleep, unit: "ms", target: n <= 16 ? "<= 2x" : "", note: `parallel ${n}` });
    }
  } finally {
    await h.close();
  }
  if (sshds.length < max) rows.push({ figure: `fan-out: only ${sshds.length} of ${max} sshd started`, herd: NaN, unit: "", note: startError });
}

// Why: the SSH figures of `npm run bench` (items 4 and 5), each against a baseline from the same run.
export async function sshBench(rows: Row[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "herd-bench-ssh-"));
  const sshds: Sshd[] = [];
  try {
    const s = await startSshd();
    sshds.push(s);
    process.stderr.write("bench: ssh latency...\n");
    await latency(rows, dir, s);
    process.stderr.write("bench: ssh fan-out...\n");
    await fanout(rows, dir, sshds);
  } finally {
    await Promise.all(sshds.map((x) => x.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}
