/**
 * `npm run bench:ab -- <other main.js>`: this build's 2025-era (legacy) rows against another build
 * of mcp-herd (an older commit's `dist/main.js`), in interleaved rounds, so that a change can show
 * the legacy rows did not get slower. Per round and build: the median latency of sequential
 * `echo__echo` calls over stdio and over HTTP, and the CPU mcp-herd itself spent per call
 * (utime + stime from /proc, so the client's and the child's share are left out).
 * Knobs: BENCH_ROUNDS (9), BENCH_CALLS per round (2000: mcp-herd's CPU is read in 10 ms ticks).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { CLI, ECHO, httpProc, printTable, stats, stdioClient, type Proc, type Row } from "./lib.js";
import { ratioRow } from "./rounds.js";

const other = process.argv[2];
if (!other) {
  console.error("usage: npm run bench:ab -- <path to another build's dist/main.js>");
  process.exit(2);
}
const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 9));
const N = Number(process.env.BENCH_CALLS ?? 2000);
const TICK_MS = 1000 / 100; // USER_HZ: /proc/PID/stat counts CPU in clock ticks of 10 ms

/** CPU time (user + system) of one process so far, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

interface Build {
  name: string;
  proc: Proc;
  stateDir: string;
}

async function start(name: string, cli: string, mode: "stdio" | "http"): Promise<Build> {
  const stateDir = mkdtempSync(join(tmpdir(), "herd-ab-"));
  const args = [cli, "--state-dir", stateDir, "--log-level", "warn"];
  const proc = mode === "stdio" ? await stdioClient(process.execPath, args) : await httpProc(process.execPath, [...args, "--http", "127.0.0.1:0", "--log-level", "info"]);
  await proc.client.callTool({ name: "service_load", arguments: { name: "echo", command: process.execPath, args: [ECHO] } });
  return { name, proc, stateDir };
}

const call = (b: Build, i: number) => b.proc.client.callTool({ name: "echo__echo", arguments: { message: `m${i}` } });

async function measure(mode: "stdio" | "http", rows: Row[]): Promise<void> {
  const builds = [await start("this build", CLI, mode), await start("other build", resolve(other!), mode)];
  for (const b of builds) for (let i = 0; i < 1000; i++) await call(b, i);
  const lat = new Map(builds.map((b) => [b.name, [] as number[]]));
  const cpu = new Map(builds.map((b) => [b.name, [] as number[]]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < builds.length; k++) {
      const b = builds[(r + k) % builds.length]!;
      const samples: number[] = [];
      const c0 = cpuMs(b.proc.pid);
      for (let i = 0; i < N; i++) {
        const t0 = performance.now();
        await call(b, i);
        samples.push(performance.now() - t0);
      }
      cpu.get(b.name)!.push(((cpuMs(b.proc.pid) - c0) * 1000) / N);
      lat.get(b.name)!.push(stats(samples).median);
    }
  }
  for (const b of builds) {
    await b.proc.close();
    rmSync(b.stateDir, { recursive: true, force: true });
  }
  rows.push(ratioRow(`${mode} 2025 era: echo__echo latency, this build vs the other`, lat, "this build", "other build", "ms", "<= 1.0x"));
  rows.push(ratioRow(`${mode} 2025 era: mcp-herd CPU per call (µs), this build vs the other`, cpu, "this build", "other build", "µs", "<= 1.0x"));
}

const rows: Row[] = [];
await measure("stdio", rows);
await measure("http", rows);
console.log(`other build: ${other}; ${ROUNDS} rounds of ${N} calls, order rotating`);
printTable(rows);
