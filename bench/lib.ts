import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdio } from "@modelcontextprotocol/client/stdio";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { stopProc, waitListening } from "../test/helpers/proc.js";

/** The repository, the built CLI, and the stdio and HTTP echo servers the baselines run. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const CLI = join(ROOT, "dist", "main.js");
export const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
export const HTTP_ECHO = join(ROOT, "bench", "fixtures", "http-echo.mjs");
export const ECHO_V2 = join(ROOT, "bench", "fixtures", "echo-v2.mjs");

/** One row of the results table. */
export interface Row {
  figure: string;
  herd: number;
  baseline?: number;
  unit: string;
  /** What the ratio is judged against (e.g. "<= 1.5"). */
  target?: string;
  note?: string;
  /** The median of per-round ratios, when the figure comes from interleaved rounds. */
  ratio?: number;
  /** The smallest and largest per-round ratio. */
  spread?: [number, number];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Median, p99 and mean of timing samples. */
export function stats(samples: number[]): { median: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p99: quantile(s, 0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** Times `n` sequential runs of `fn` (after `warmup` untimed ones), in milliseconds. */
export async function timeSeq(n: number, fn: (i: number) => Promise<unknown>, warmup = 500): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

/** Resident set size of a process, in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

export interface Proc {
  client: Client;
  pid: number;
  url?: string;
  connect(): Promise<Client>;
  close(): Promise<void>;
}

/** An SDK client over stdio to `command args`. */
export async function stdioClient(command: string, args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const transport = new StdioClientTransport({ command, args, env: { ...(process.env as Record<string, string>), ...env }, stderr: "ignore" });
  const client = new Client({ name: "bench", version: "0" });
  await client.connect(transport);
  return {
    client,
    pid: transport.pid!,
    connect: () => Promise.reject(new Error("stdio has one client")),
    close: () => client.close(),
  };
}

/** SDK clients over streamable HTTP to `url`; `close` closes them and stops `proc`, the server. */
export function httpClients(proc: ChildProcess, url: string): { connect(): Promise<Client>; close(): Promise<void> } {
  const clients: Client[] = [];
  return {
    async connect() {
      const c = new Client({ name: "bench", version: "0" });
      await c.connect(new StreamableHTTPClientTransport(new URL(url)));
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await stopProc(proc);
    },
  };
}

/** Starts a process that prints "listening on URL" on stderr, and connects SDK clients over HTTP. */
export async function httpProc(command: string, args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const proc: ChildProcess = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  const { url } = await waitListening(proc, command);
  const { connect, close } = httpClients(proc, url);
  return { client: await connect(), pid: proc.pid!, url, connect, close };
}

/** mcp-herd over stdio or HTTP with a fresh state dir. */
export async function herd(mode: "stdio" | "http", extraArgs: string[] = [], env: Record<string, string> = {}): Promise<Proc & { stateDir: string }> {
  const stateDir = mkdtempSync(join(tmpdir(), "herd-bench-"));
  const args = [CLI, "--state-dir", stateDir, "--log-level", "warn", ...extraArgs];
  const p =
    mode === "stdio"
      ? await stdioClient(process.execPath, args, env)
      : await httpProc(process.execPath, [...args, "--http", "127.0.0.1:0", "--log-level", "info"], env);
  return {
    ...p,
    stateDir,
    async close() {
      await p.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A figure for the table: "-" when missing, ms to 3 decimals, else 0 or 1 decimal by size. */
export const fmt = (v: number | undefined, unit: string) =>
  v === undefined || Number.isNaN(v) ? "-" : unit === "ms" ? v.toFixed(3) : v >= 100 ? v.toFixed(0) : v.toFixed(1);

/** Prints the table: figure, value, baseline, ratio (median of per-round ratios), spread, target. */
export function printTable(rows: Row[]): void {
  const lines = [["figure", "value", "baseline", "ratio", "spread", "target", "note"]];
  for (const r of rows) {
    const ratio = r.ratio ?? (r.baseline ? r.herd / r.baseline : undefined);
    const spread = r.spread ? `${r.spread[0].toFixed(2)}-${r.spread[1].toFixed(2)}x` : "";
    lines.push([r.figure, `${fmt(r.herd, r.unit)} ${r.unit}`, r.baseline === undefined ? "-" : `${fmt(r.baseline, r.unit)} ${r.unit}`, ratio === undefined ? "-" : ratio < 0.1 ? `1/${(1 / ratio).toFixed(0)}` : ratio.toFixed(2) + "x", spread, r.target ?? "", r.note ?? ""]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const [i, l] of lines.entries()) {
    process.stdout.write("| " + l.map((c, j) => c.padEnd(widths[j]!)).join(" | ") + " |\n");
    if (i === 0) process.stdout.write("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|\n");
  }
}

/** A v2 SDK client pinned to 2026-07-28 (no initialize, the _meta envelope on every request), and its close. */
export interface ModernProc {
  client: ModernClient;
  pid?: number;
  close(): Promise<void>;
}

const modernClient = () => new ModernClient({ name: "bench", version: "0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });

/** A 2026-07-28 client over stdio to `command args`. */
export async function modernStdio(command: string, args: string[]): Promise<ModernProc> {
  const transport = new ModernStdio({ command, args, env: process.env as Record<string, string>, stderr: "ignore" });
  const client = modernClient();
  await client.connect(transport);
  return { client, pid: transport.pid ?? undefined, close: () => client.close() };
}

/** A 2026-07-28 client over streamable HTTP to `url` (a server someone else started and stops). */
export async function modernHttp(url: string): Promise<ModernProc> {
  const client = modernClient();
  await client.connect(new ModernHttp(new URL(url)));
  return { client, close: () => client.close().catch(() => undefined) };
}

/** mcp-herd over stdio with a fresh state dir, driven by a 2026-07-28 client. */
export async function herdModernStdio(): Promise<ModernProc> {
  const stateDir = mkdtempSync(join(tmpdir(), "herd-bench-"));
  const p = await modernStdio(process.execPath, [CLI, "--state-dir", stateDir, "--log-level", "warn"]);
  return {
    ...p,
    async close() {
      await p.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
