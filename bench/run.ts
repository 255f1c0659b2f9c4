/**
 * `npm run bench`: each figure of mcp-herd against a baseline measured in the same run, on this
 * machine. Never part of `npm test`. See bench/README.md for how to read the table.
 */
import { performance } from "node:perf_hooks";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ECHO, HTTP_ECHO, herd, httpProc, printTable, rssMiB, stats, stdioClient, timeSeq, type Row } from "./lib.js";
import { rawLoad } from "./rawload.js";
import { sshBench } from "./ssh.js";

const N = Number(process.env.BENCH_CALLS ?? 2000);
const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);
const rows: Row[] = [];

const echo = (c: Client, name = "echo") => (i: number) => c.callTool({ name, arguments: { message: `m${i}` } });
const load = (c: Client, name: string) =>
  c.callTool({ name: "service_load", arguments: { name, command: process.execPath, args: [ECHO] } });

/** 1. Proxy overhead: sequential echo calls through mcp-herd against the child called directly. */
async function proxy(): Promise<void> {
  const direct = await stdioClient(process.execPath, [ECHO]);
  const d = stats(await timeSeq(N, echo(direct.client)));
  await direct.close();

  const h = await herd("stdio");
  await load(h.client, "echo");
  const viaCall = stats(await timeSeq(N, (i) => h.client.callTool({ name: "service_call", arguments: { name: "echo", tool: "echo", arguments: { message: `m${i}` } } })));
  const viaProxy = stats(await timeSeq(N, echo(h.client, "echo__echo")));
  await h.close();
  rows.push({ figure: "stdio: echo__echo median", herd: viaProxy.median, baseline: d.median, unit: "ms", target: "<= 1.5x, +<0.3 ms", note: `added ${(viaProxy.median - d.median).toFixed(3)} ms` });
  rows.push({ figure: "stdio: echo__echo p99", herd: viaProxy.p99, baseline: d.p99, unit: "ms" });
  rows.push({ figure: "stdio: service_call median", herd: viaCall.median, baseline: d.median, unit: "ms", target: "<= 1.5x", note: `added ${(viaCall.median - d.median).toFixed(3)} ms` });
  rows.push({ figure: "stdio: service_call p99", herd: viaCall.p99, baseline: d.p99, unit: "ms" });

  const base = await httpProc(process.execPath, [HTTP_ECHO]);
  const bd = stats(await timeSeq(N, echo(base.client)));
  await base.close();
  const hh = await herd("http");
  await load(hh.client, "echo");
  const hp = stats(await timeSeq(N, echo(hh.client, "echo__echo")));
  await hh.close();
  rows.push({ figure: "http: echo__echo median (vs SDK HTTP echo)", herd: hp.median, baseline: bd.median, unit: "ms", note: `added ${(hp.median - bd.median).toFixed(3)} ms` });
  rows.push({ figure: "http: echo__echo p99", herd: hp.p99, baseline: bd.p99, unit: "ms" });
}

/** 2. Throughput: 64 concurrent HTTP clients, 10,000 calls in all (plain HTTP load generator, one session each). */
async function throughput(): Promise<void> {
  const total = Number(process.env.BENCH_TOTAL ?? 10_000);
  const clients = 64;
  const base = await httpProc(process.execPath, [HTTP_ECHO]);
  await rawLoad(base.url!, { clients, total: 2_000, tool: "echo" });
  const b = await rawLoad(base.url!, { clients, total, tool: "echo" });
  await base.close();
  // --expose-gc lets herd_status report memory after a full collection: RSS alone swings with GC timing.
  const h = await herd("http", [], { NODE_OPTIONS: "--expose-gc" });
  const mem = async () => (await h.client.callTool({ name: "herd_status", arguments: {} })).structuredContent as { rss_mb: number; heap_used_mb: number };
  await load(h.client, "echo");
  await rawLoad(h.url!, { clients, total: 2_000, tool: "echo__echo" });
  const before = await mem();
  const r = await rawLoad(h.url!, { clients, total, tool: "echo__echo" });
  const after = await mem();
  await h.close();
  rows.push({ figure: "http 64 clients: calls/s (vs SDK HTTP echo)", herd: r.rate, baseline: b.rate, unit: "/s", target: ">= 5000", note: `${r.errors} errors (baseline ${b.errors})` });
  rows.push({ figure: "http 64 clients: p99", herd: r.p99, baseline: b.p99, unit: "ms" });
  rows.push({ figure: "http 64 clients: RSS after / before (post-GC)", herd: after.rss_mb, baseline: before.rss_mb, unit: "MiB", target: "flat" });
  rows.push({ figure: "http 64 clients: heap after / before (post-GC)", herd: after.heap_used_mb, baseline: before.heap_used_mb, unit: "MiB", target: "flat" });
}

/** 3. Readiness: service_load until running, against the child's own spawn-to-initialize time. */
async function readiness(): Promise<void> {
  const direct: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const c = await stdioClient(process.execPath, [ECHO]);
    await c.client.listTools();
    direct.push(performance.now() - t0);
    await c.close();
  }
  const h = await herd("stdio");
  const loads: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const r = await load(h.client, `r${i}`);
    loads.push(performance.now() - t0);
    if (r.isError) throw new Error(JSON.stringify(r.content));
  }
  await h.close();
  rows.push({ figure: "readiness: service_load -> running", herd: stats(loads).median, baseline: stats(direct).median, unit: "ms", target: "<= 1.2x" });
}

/** 6. Footprint: mcp-herd's own RSS idle and with 20 loaded children (children excluded). */
async function footprint(): Promise<void> {
  const h = await herd("stdio");
  await new Promise((r) => setTimeout(r, 500));
  const idle = rssMiB(h.pid);
  for (let i = 0; i < 20; i++) await load(h.client, `f${i}`);
  await h.client.callTool({ name: "service_list", arguments: {} });
  const loaded = rssMiB(h.pid);
  await h.close();
  rows.push({ figure: "RSS idle", herd: idle, unit: "MiB", target: "< 80" });
  rows.push({ figure: "RSS with 20 children", herd: loaded, unit: "MiB", target: "< 150" });
}

const benches: Record<string, () => Promise<void>> = { proxy, throughput, readiness, footprint, ssh: () => sshBench(rows) };
for (const [name, fn] of Object.entries(benches)) {
  if (!want(name)) continue;
  process.stderr.write(`bench: ${name}...\n`);
  try {
    await fn();
  } catch (e) {
    rows.push({ figure: `${name}: FAILED`, herd: NaN, unit: "", note: (e as Error).message.slice(0, 120) });
  }
}
printTable(rows);
