import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdio } from "@modelcontextprotocol/client/stdio";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as LegacyStdio } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport as LegacyHttp } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT, cleanEnv, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const CONTENT = join(ROOT, "test", "fixtures", "content-server.mjs");
const MODERN = "2026-07-28";
const TOKEN = "eras-both-token-0123456789";
const PEER_TOKEN = "eras-both-peer-token-0123456789";

interface Result {
  content?: unknown;
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
}

/** What both eras' clients do here, whatever their SDK: a tool call with optional progress and signal, reads, prompts. */
interface Caller {
  era: "modern" | "legacy";
  call(name: string, args: Record<string, unknown>, opts?: { onprogress?: (p: { progress: number }) => void; signal?: AbortSignal }): Promise<Result>;
  read(uri: string): Promise<unknown[]>;
  prompt(name: string, args: Record<string, string>): Promise<unknown[]>;
  tools(): Promise<string[]>;
  close(): Promise<void>;
}

function text(r: Result): string {
  return ((r.content ?? []) as Array<{ type: string; text?: string }>).map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

function modernCaller(client: ModernClient): Caller {
  return {
    era: "modern",
    call: async (name, args, opts = {}) => (await client.callTool({ name, arguments: args }, opts)) as Result,
    read: async (uri) => (await client.readResource({ uri })).contents,
    prompt: async (name, args) => (await client.getPrompt({ name, arguments: args })).messages,
    tools: async () => (await client.listTools()).tools.map((t) => t.name),
    close: () => client.close(),
  };
}

function legacyCaller(client: LegacyClient): Caller {
  return {
    era: "legacy",
    call: async (name, args, opts = {}) => (await client.callTool({ name, arguments: args }, undefined, opts)) as Result,
    read: async (uri) => (await client.readResource({ uri })).contents,
    prompt: async (name, args) => (await client.getPrompt({ name, arguments: args })).messages,
    tools: async () => (await client.listTools()).tools.map((t) => t.name),
    close: () => client.close(),
  };
}

interface Pair {
  modern: Caller;
  legacy: Caller;
  close(): Promise<void>;
}

/** One HTTP mcp-herd with a modern and a 1.x client, or two stdio mcp-herds on one state folder and config, one per client. */
async function startPair(mode: "http" | "stdio", args: string[]): Promise<Pair> {
  const modernClient = new ModernClient({ name: "modern-both", version: "0" }, { versionNegotiation: { mode: { pin: MODERN } } });
  const legacyClient = new LegacyClient({ name: "legacy-both", version: "0" });
  const env = cleanEnv({ LMCP_HUB_BACKENDS: "", MCP_HERD_TOKEN: mode === "http" ? TOKEN : undefined });
  let proc: ChildProcess | undefined;
  if (mode === "stdio") {
    await Promise.all([
      modernClient.connect(new ModernStdio({ command: process.execPath, args, env, stderr: "ignore" })),
      legacyClient.connect(new LegacyStdio({ command: process.execPath, args, env, stderr: "ignore" })),
    ]);
  } else {
    proc = spawn(process.execPath, [...args, "--http", "127.0.0.1:0"], { env, stdio: ["ignore", "pipe", "pipe"] });
    const { url } = await waitListening(proc, "mcp-herd");
    const headers = { Authorization: `Bearer ${TOKEN}` };
    await Promise.all([
      modernClient.connect(new ModernHttp(new URL(url), { requestInit: { headers } })),
      legacyClient.connect(new LegacyHttp(new URL(url), { requestInit: { headers } })),
    ]);
  }
  // The modern client really speaks 2026-07-28 (no initialize), the 1.x one the 2025 handshake.
  expect(modernClient.getProtocolEra()).toBe("modern");
  expect(modernClient.getNegotiatedProtocolVersion()).toBe(MODERN);
  expect(legacyClient.getServerVersion()?.name).toBe("mcp-herd");
  const modern = modernCaller(modernClient);
  const legacy = legacyCaller(legacyClient);
  return {
    modern,
    legacy,
    async close() {
      await Promise.all([modern.close().catch(() => undefined), legacy.close().catch(() => undefined)]);
      if (proc) await stopProc(proc);
    },
  };
}

describe.each([["http" as const], ["stdio" as const]])("a 2026-07-28 client and a 1.x client at the same time over %s", (mode) => {
  let dir: string;
  let peer: Herd;
  let pair: Pair;
  let file: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-eras-both-"));
    file = join(dir, "hello.txt");
    writeFileSync(file, "read by both eras\n");
    peer = await startHerd({ http: true, token: PEER_TOKEN, args: ["--peer"], env: { HOME: dir } });
    const config = join(dir, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        services: { echo: { command: process.execPath, args: [ECHO] }, content: { command: process.execPath, args: [CONTENT] } },
        hosts: [{ name: "box", peer: { url: peer.url, token: PEER_TOKEN } }],
      }),
    );
    // Over stdio, each client has its own mcp-herd process; both share this state folder and config.
    pair = await startPair(mode, [CLI, "--state-dir", join(dir, "state"), "--config", config]);
    for (const c of [pair.modern, pair.legacy]) {
      expect(await waitFor(async () => (await c.tools()).includes("content__add-resource") && (await c.tools()).includes("echo__slow"), 20_000)).toBe(true);
    }
  }, 90_000);
  afterAll(async () => {
    await pair?.close();
    await peer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("both call our tools and the services' tools concurrently, each getting its own answers", async () => {
    const run = (c: Caller) =>
      Promise.all([
        ...Array.from({ length: 20 }, (_, i) => c.call("echo__echo", { message: `${c.era} ${i}` }).then(text)),
        c.call("echo__add", { a: 2, b: 3 }).then((r) => JSON.stringify(r.structuredContent)),
        c.call("service_list", {}).then((r) => (r.isError ? "error" : /echo/.test(text(r)) ? "listed" : text(r))),
      ]);
    const [m, l] = await Promise.all([run(pair.modern), run(pair.legacy)]);
    for (const [era, got] of [["modern", m], ["legacy", l]] as const) {
      expect(got).toEqual([...Array.from({ length: 20 }, (_, i) => `${era} ${i}`), JSON.stringify({ sum: 5 }), "listed"]);
    }
  });

  it("both run remote tools at once: on this machine and on a host through its mcp-herd peer", async () => {
    const run = (c: Caller) =>
      Promise.all([
        c.call("remote_shell", { host: "local", command: `echo ${c.era}-local` }),
        c.call("remote_shell", { host: "box", command: `echo ${c.era}-box` }),
        c.call("remote_read_file", { host: "box", path: file }),
        c.call("remote_read_file", { host: "local", path: file }),
      ]);
    const [m, l] = await Promise.all([run(pair.modern), run(pair.legacy)]);
    for (const [era, [local, box, boxFile, localFile]] of [["modern", m], ["legacy", l]] as const) {
      for (const r of [local, box, boxFile, localFile]) expect(r!.isError, text(r!)).toBeFalsy();
      expect(local!.structuredContent).toMatchObject({ exit_code: 0, stdout: `${era}-local\n`, via: "local" });
      expect(box!.structuredContent).toMatchObject({ via: "peer" });
      expect(text(box!)).toContain(`${era}-box`);
      expect(text(boxFile!)).toContain("read by both eras");
      expect(localFile!.structuredContent).toMatchObject({ content: "read by both eras\n" });
    }
    const missing = await Promise.all([pair.modern, pair.legacy].map((c) => c.call("remote_read_file", { host: "box", path: join(dir, "missing") })));
    for (const r of missing) expect(r.isError).toBe(true);
  });

  it("both read a service's resource and ours, and get a service's prompt, at once", async () => {
    const run = (c: Caller) => Promise.all([c.read("fixture://note"), c.read("herd://services"), c.prompt("content__greet", { who: c.era })]);
    const [m, l] = await Promise.all([run(pair.modern), run(pair.legacy)]);
    expect(m[0]).toEqual(l[0]);
    expect(m[0]![0]).toMatchObject({ uri: "fixture://note", text: "the note" });
    for (const [era, got] of [["modern", m], ["legacy", l]] as const) {
      expect(JSON.stringify(got[1])).toContain("echo");
      expect(JSON.stringify(got[2])).toContain(`Hello, ${era}!`);
    }
  });

  it("progress reaches both, and both cancel a call in flight: each call ends at once and its service's handler sees the abort", async () => {
    const seen = { modern: [] as number[], legacy: [] as number[] };
    const done = await Promise.all(
      [pair.modern, pair.legacy].map((c) => c.call("echo__slow", { steps: 3, ms: 30 }, { onprogress: (p) => void seen[c.era].push(p.progress) }).then(text)),
    );
    expect(done).toEqual(["done 3", "done 3"]);
    expect(seen).toEqual({ modern: [1, 2, 3], legacy: [1, 2, 3] });

    const aborts = [new AbortController(), new AbortController()];
    const started = Date.now();
    setTimeout(() => aborts.forEach((a) => a.abort()), 300);
    const results = await Promise.allSettled([pair.modern, pair.legacy].map((c, i) => c.call("echo__slow", { steps: 100, ms: 50 }, { signal: aborts[i]!.signal })));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(Date.now() - started).toBeLessThan(3_000);
    // Over HTTP both calls ran in one process's echo child; over stdio each process has its own.
    const cancelled = async (c: Caller) => (text(await c.call("service_logs", { name: "echo", stream: "stderr" })).match(/slow cancelled at step/g) ?? []).length;
    if (mode === "http") expect(await waitFor(async () => (await cancelled(pair.legacy)) >= 2, 10_000)).toBe(true);
    else for (const c of [pair.modern, pair.legacy]) expect(await waitFor(async () => (await cancelled(c)) >= 1, 10_000)).toBe(true);
  });
});
