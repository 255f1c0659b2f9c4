/**
 * `npm run bench`: every figure of mcp-herd beside its floor and its peers, measured in interleaved
 * rounds on this machine (see bench/README.md). Never part of `npm test`.
 * Knobs: BENCH_ROUNDS (5), BENCH_CALLS per round and contender (300), BENCH_TOTAL calls per
 * throughput round (2000), BENCH_FOOTPRINT_CALLS before the footprint is read (3000) and BENCH_IDLE_SECONDS before it is read again (45); `npm run bench -- latency` (or throughput, start, footprint, ssh) runs one group.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ECHO, ECHO_V2, HTTP_ECHO, herd, herdModernStdio, httpProc, modernHttp, modernStdio, printTable, stats, stdioClient, timeSeq, type ModernProc, type Proc, type Row } from "./lib.js";
import { peer } from "./peers.js";
import { openLoad, type Load } from "./rawload.js";
import { interleave, ratioRow, treeMem, type Variant } from "./rounds.js";
import { sshBench } from "./ssh.js";

const ROUNDS = Math.max(5, Number(process.env.BENCH_ROUNDS ?? 5));
const N = Number(process.env.BENCH_CALLS ?? 300);
const TOTAL = Number(process.env.BENCH_TOTAL ?? 2000);
// A server's young generation grows with use and stays grown: the footprint is read after real use, not after a few calls.
const FOOTPRINT_CALLS = Number(process.env.BENCH_FOOTPRINT_CALLS ?? 3000);
const IDLE_S = Number(process.env.BENCH_IDLE_SECONDS ?? 45);
const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);
const rows: Row[] = [];

/** Either era's SDK client, as the figures call it. */
type Caller = Pick<Client, "callTool"> | Pick<ModernProc["client"], "callTool">;
const echo = (c: Caller, name = "echo") => (i: number) => c.callTool({ name, arguments: { message: `m${i}` } });
const load = (c: Caller, name: string) => c.callTool({ name: "service_load", arguments: { name, command: process.execPath, args: [ECHO] } });
const medianOf = (n: number, fn: (i: number) => Promise<unknown>) => async () => stats(await timeSeq(n, fn, 50)).median;

/** Every HTTP contender, each serving the echo tool: the SDK's own server, mcp-herd (with the echo child), and the peers. */
async function httpServers(): Promise<{ name: string; p: Proc; tool: string }[]> {
  const sdk = await httpProc(process.execPath, [HTTP_ECHO]);
  const h = await herd("http");
  await load(h.client, "echo");
  return [
    { name: "sdk", p: sdk, tool: "echo" },
    { name: "mcp-herd", p: h, tool: "echo__echo" },
    { name: "supergateway", p: await peer("supergateway"), tool: "echo" },
    { name: "mcp-proxy", p: await peer("mcp-proxy"), tool: "echo" },
  ];
}

/**
 * Sequential echo calls over stdio and over HTTP: per call, median of each round. The 2026-07-28 rows
 * (a v2 client pinned to that era; their floor is the echo tool served by the v2 SDK itself) run in
 * the same rounds as the 2025 ones.
 */
async function latency(): Promise<void> {
  const direct = await stdioClient(process.execPath, [ECHO]);
  const h = await herd("stdio");
  await load(h.client, "echo");
  const modernDirect = await modernStdio(process.execPath, [ECHO_V2]);
  const mh = await herdModernStdio();
  await load(mh.client, "echo");
  const viaCall = (i: number) => h.client.callTool({ name: "service_call", arguments: { name: "echo", tool: "echo", arguments: { message: `m${i}` } } });
  const stdioVariants = [
    { name: "direct", f: echo(direct.client) },
    { name: "proxied", f: echo(h.client, "echo__echo") },
    { name: "service_call", f: viaCall },
    { name: "modern direct", f: echo(modernDirect.client) },
    { name: "modern proxied", f: echo(mh.client, "echo__echo") },
  ];
  for (const v of stdioVariants) await timeSeq(500, v.f, 0);
  const m = await interleave(
    stdioVariants.map((v) => ({ name: v.name, run: medianOf(N, v.f) })),
    ROUNDS,
  );
  await Promise.all([direct.close(), h.close(), modernDirect.close(), mh.close()]);
  rows.push(ratioRow("stdio: echo__echo vs direct SDK call to the child", m, "proxied", "direct", "ms", "<= 1.5x"));
  rows.push(ratioRow("stdio: service_call vs direct SDK call", m, "service_call", "direct", "ms", "<= 1.5x"));
  rows.push(ratioRow("stdio 2026-07-28: echo__echo vs direct v2 SDK call to a v2 echo server", m, "modern proxied", "modern direct", "ms"));

  const servers = await httpServers();
  const modern: ModernProc[] = [];
  try {
    const sdk2 = await httpProc(process.execPath, [ECHO_V2, "--http"]);
    servers.push({ name: "sdk v2", p: sdk2, tool: "echo" });
    const callers: { name: string; c: Caller; tool: string }[] = servers.slice(0, 4).map((s) => ({ name: s.name, c: s.p.client, tool: s.tool }));
    for (const [name, url, tool] of [["modern sdk", sdk2.url!, "echo"], ["modern mcp-herd", servers[1]!.p.url!, "echo__echo"]] as const) {
      const c = await modernHttp(url);
      modern.push(c);
      callers.push({ name, c: c.client, tool });
    }
    for (const c of callers) await timeSeq(300, echo(c.c, c.tool), 0);
    const hm = await interleave(
      callers.map((c) => ({ name: c.name, run: medianOf(N, echo(c.c, c.tool)) })),
      ROUNDS,
    );
    for (const s of servers.slice(1, 4)) rows.push(ratioRow(`http: ${s.name} call vs SDK HTTP server`, hm, s.name, "sdk", "ms", s.name === "mcp-herd" ? "<= 1.1x" : undefined));
    rows.push(ratioRow("http 2026-07-28: mcp-herd call vs the v2 SDK HTTP server (createMcpHandler)", hm, "modern mcp-herd", "modern sdk", "ms"));
  } finally {
    await Promise.all(modern.map((c) => c.close()));
    await Promise.all(servers.map((s) => s.p.close()));
  }
}

/**
 * 64 sessions over plain keep-alive HTTP (bench/rawload.ts), BENCH_TOTAL calls a round, against each
 * server; in the same rounds, 64 clients of the 2026-07-28 era (no sessions) against mcp-herd and the v2 SDK's server.
 */
async function throughput(): Promise<void> {
  const servers = await httpServers();
  const errors = new Map<string, number>();
  const loads = new Map<string, Load>();
  try {
    const sdk2 = await httpProc(process.execPath, [ECHO_V2, "--http"]);
    servers.push({ name: "sdk v2", p: sdk2, tool: "echo" });
    const targets = [
      ...servers.slice(0, 4).map((s) => ({ name: s.name, url: s.p.url!, tool: s.tool, era: "legacy" as const })),
      { name: "modern sdk", url: sdk2.url!, tool: "echo", era: "modern" as const },
      { name: "modern mcp-herd", url: servers[1]!.p.url!, tool: "echo__echo", era: "modern" as const },
    ];
    for (const t of targets) {
      const l = await openLoad(t.url, { clients: 64, tool: t.tool, era: t.era });
      loads.set(t.name, l);
      await l.run(500);
    }
    const m = await interleave(
      targets.map((s) => ({
        name: s.name,
        run: async () => {
          const r = await loads.get(s.name)!.run(TOTAL);
          errors.set(s.name, (errors.get(s.name) ?? 0) + r.errors);
          return r.rate;
        },
      })),
      ROUNDS,
    );
    for (const s of servers.slice(1, 4)) {
      const row = ratioRow(`http 64 sessions: ${s.name} calls/s vs SDK HTTP server`, m, s.name, "sdk", "/s", s.name === "mcp-herd" ? ">= 0.95x" : undefined);
      rows.push({ ...row, note: `${errors.get(s.name) ?? 0} errors (SDK ${errors.get("sdk") ?? 0})` });
    }
    const modernRow = ratioRow("http 64 clients 2026-07-28: mcp-herd calls/s vs the v2 SDK HTTP server", m, "modern mcp-herd", "modern sdk", "/s");
    rows.push({ ...modernRow, note: `${errors.get("modern mcp-herd") ?? 0} errors (SDK ${errors.get("modern sdk") ?? 0})` });
  } finally {
    await Promise.all([...loads.values()].map((l) => l.close()));
    await Promise.all(servers.map((s) => s.p.close()));
  }
}

/** A config with one echo child, for mcp-herd's start figures. */
function oneChildConfig(dir: string): string {
  const file = join(dir, "config.json");
  writeFileSync(file, JSON.stringify({ services: { echo: { command: process.execPath, args: [ECHO] } } }));
  return file;
}

/** Lists tools until `want` shows (bounded: 20 s). */
async function until(client: Client, want: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await client.listTools()).tools.some((t) => t.name === want)) {
    if (Date.now() > deadline) throw new Error(`${want} never listed`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Spawn -> the first tools/list that shows the echo tool: the child alone, mcp-herd with it configured, and the peers. */
async function start(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "herd-bench-start-"));
  const config = oneChildConfig(dir);
  const timed = (open: () => Promise<Proc>, tool: string) => async () => {
    const t0 = performance.now();
    const p = await open();
    await until(p.client, tool);
    const ms = performance.now() - t0;
    await p.close();
    return ms;
  };
  const variants: Variant[] = [
    { name: "child", run: timed(() => stdioClient(process.execPath, [ECHO]), "echo") },
    { name: "stdio", run: timed(() => herd("stdio", ["--config", config]), "echo__echo") },
    { name: "http", run: timed(() => herd("http", ["--config", config]), "echo__echo") },
    { name: "supergateway", run: timed(() => peer("supergateway"), "echo") },
    { name: "mcp-proxy", run: timed(() => peer("mcp-proxy"), "echo") },
  ];
  try {
    const m = await interleave(variants, ROUNDS);
    rows.push(ratioRow("start: mcp-herd stdio vs the child's own start", m, "stdio", "child", "ms", "<= 1.5x"));
    rows.push(ratioRow("start: mcp-herd http vs the child's own start", m, "http", "child", "ms", "<= 1.5x"));
    rows.push(ratioRow("start: supergateway vs the child's own start", m, "supergateway", "child", "ms"));
    rows.push(ratioRow("start: mcp-proxy vs the child's own start", m, "mcp-proxy", "child", "ms"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Memory of each whole process tree serving one echo child (mcp-herd + its watchdog + the child; a
 * peer + its child; the child alone): read after FOOTPRINT_CALLS calls, and again after IDLE_S
 * seconds without calls (how a supervisor spends most of its life), all trees side by side.
 */
async function footprint(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "herd-bench-rss-"));
  const trees: { name: string; p: Proc; tool: string }[] = [];
  const how = (t: ReturnType<typeof treeMem>) => `RSS ${t.rss.toFixed(1)}, PSS ${t.pss.toFixed(1)}; rss/pss/private: ${t.parts.join(", ")}`;
  try {
    trees.push({ name: "child", p: await stdioClient(process.execPath, [ECHO]), tool: "echo" });
    const h = await herd("stdio", ["--config", oneChildConfig(dir)]);
    trees.push({ name: "mcp-herd", p: h, tool: "echo__echo" });
    await until(h.client, "echo__echo");
    for (const name of ["supergateway", "mcp-proxy"] as const) trees.push({ name, p: await peer(name), tool: "echo" });
    for (const t of trees) await timeSeq(FOOTPRINT_CALLS, echo(t.p.client, t.tool), 0);
    await new Promise((r) => setTimeout(r, 1000));
    const used = new Map(trees.map((t) => [t.name, treeMem(t.p.pid, t.name)]));
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const idle = new Map(trees.map((t) => [t.name, treeMem(t.p.pid, t.name)]));
    const [u, i, base, baseUsed] = [used.get("mcp-herd")!, idle.get("mcp-herd")!, idle.get("child")!, used.get("child")!];
    rows.push({ figure: `footprint: mcp-herd tree with one child, own pages, idle ${IDLE_S} s`, herd: i.own, baseline: base.own, unit: "MiB", target: "<= 100 MiB", note: `${how(i)}; baseline: the child alone` });
    rows.push({ figure: `footprint: mcp-herd tree with one child, own pages, right after ${FOOTPRINT_CALLS} calls`, herd: u.own, baseline: baseUsed.own, unit: "MiB", note: how(u) });
    rows.push({ figure: `footprint: mcp-herd tree with one child, RSS sum, idle`, herd: i.rss, baseline: base.rss, unit: "MiB", note: "counts the node binary's shared pages once per Node process" });
    rows.push({ figure: `footprint: mcp-herd tree with one child, PSS sum, idle`, herd: i.pss, baseline: base.pss, unit: "MiB", note: "splits shared pages with every process on the machine that maps them" });
    for (const name of ["supergateway", "mcp-proxy"]) {
      const t = idle.get(name)!;
      rows.push({ figure: `footprint: ${name} tree with one child, own pages, idle`, herd: t.own, baseline: base.own, unit: "MiB", note: `${how(t)}; right after the calls ${used.get(name)!.own.toFixed(1)}` });
    }
  } finally {
    await Promise.all(trees.map((t) => t.p.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const benches: Record<string, () => Promise<void>> = { latency, throughput, start, footprint, ssh: () => sshBench(rows) };
for (const [name, fn] of Object.entries(benches)) {
  if (!want(name)) continue;
  process.stderr.write(`bench: ${name}...\n`);
  try {
    await fn();
  } catch (e) {
    rows.push({ figure: `${name}: FAILED`, herd: NaN, unit: "", note: (e as Error).message.slice(0, 160) });
  }
}
process.stdout.write(`rounds: ${ROUNDS}, calls a round: ${N}, throughput calls a round: ${TOTAL}; ratios are medians of per-round ratios, spread min-max\n`);
printTable(rows);
