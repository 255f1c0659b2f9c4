import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CLI, ROOT, cleanEnv } from "../helpers/herd.js";

// The opening of a stdio connection decides its era: a 2025 initialize is served by a server connected to the
// transport itself, anything else by the SDK's two-era entry. Messages a client writes before that decision is
// made (pipelined in the same write as the first) must neither be lost nor reordered, whichever way it goes.

const MODERN = "2026-07-28";
const envelope = { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientInfo": { name: "raw", version: "0" }, "io.modelcontextprotocol/clientCapabilities": {} };
const initialize = (id: number) => ({ jsonrpc: "2.0", id, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } } });
const initialized = { jsonrpc: "2.0", method: "notifications/initialized" };

interface Raw {
  proc: ChildProcessWithoutNullStreams;
  /** Every JSON line the server wrote so far. */
  out: Array<Record<string, unknown>>;
  write(...lines: unknown[]): void;
  /** Waits until the answers to `ids` are all in, then returns the ids of every answer in the order they came. */
  answers(ids: number[], timeoutMs?: number): Promise<unknown[]>;
}

let raw: Raw | undefined;
let dir: string | undefined;
afterEach(() => {
  raw?.proc.kill("SIGKILL");
  raw = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function start(): Raw {
  dir = mkdtempSync(join(tmpdir(), "herd-stdio-open-"));
  const proc = spawn(process.execPath, [CLI, "--state-dir", dir], { env: cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
  const out: Array<Record<string, unknown>> = [];
  let buf = "";
  proc.stdout.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      out.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  proc.stderr.resume();
  return {
    proc,
    out,
    // One write: the lines reach the server together, before it has decided anything.
    write: (...lines) => void proc.stdin.write(lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l)) + "\n").join("")),
    async answers(ids, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      const got = () => out.filter((m) => "id" in m && ("result" in m || "error" in m)).map((m) => m.id);
      while (!ids.every((id) => got().includes(id))) {
        if (Date.now() > deadline) throw new Error(`no answer to ${JSON.stringify(ids.filter((id) => !got().includes(id)))} within ${timeoutMs} ms; got ${JSON.stringify(out)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return got();
    },
  };
}

const answer = (r: Raw, id: number) => r.out.find((m) => m.id === id)!;

describe("stdio: the first messages of a connection, written together", () => {
  it("a 2025 client's initialize, initialized, tools/list and ping in one write are all answered, the initialize first", async () => {
    raw = start();
    raw.write(initialize(1), initialized, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { jsonrpc: "2.0", id: 3, method: "ping" });
    // Answers may come in any order (tools/list waits for start-up services); each once, the handshake's first.
    const order = await raw.answers([1, 2, 3]);
    expect(order).toHaveLength(3);
    expect(order[0]).toBe(1);
    expect((answer(raw, 1).result as { protocolVersion: string; serverInfo: { name: string } }).serverInfo.name).toBe("mcp-herd");
    expect((answer(raw, 1).result as { protocolVersion: string }).protocolVersion).toBe("2025-06-18");
    const tools = (answer(raw, 2).result as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(tools).toContain("service_list");
    expect(answer(raw, 3).result).toEqual({});
  });

  it("a 2026-07-28 client's server/discover and tools/list in one write are answered in the modern era", async () => {
    raw = start();
    raw.write({ jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: envelope } }, { jsonrpc: "2.0", id: 2, method: "tools/list", params: { _meta: envelope } });
    expect(await raw.answers([1, 2])).toEqual([1, 2]);
    expect((answer(raw, 1).result as { supportedVersions: string[] }).supportedVersions).toContain(MODERN);
    expect((answer(raw, 2).result as { tools: Array<{ name: string }> }).tools.map((t) => t.name)).toContain("service_list");
    // Pinned modern: a later initialize is refused, naming the revisions served.
    raw.write(initialize(3));
    await raw.answers([3]);
    expect(JSON.stringify(answer(raw, 3).error)).toContain(MODERN);
  });

  it("a probe that falls back: server/discover, then initialize, is served as a 2025 session", async () => {
    raw = start();
    raw.write({ jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: envelope } });
    await raw.answers([1]);
    raw.write(initialize(2), initialized, { jsonrpc: "2.0", id: 3, method: "tools/list" });
    expect(await raw.answers([1, 2, 3])).toEqual([1, 2, 3]);
    expect((answer(raw, 2).result as { protocolVersion: string }).protocolVersion).toBe("2025-06-18");
    expect((answer(raw, 3).result as { tools: unknown[] }).tools.length).toBeGreaterThan(0);
  });

  it("a first line that is no JSON, then a stray response, then initialize: the client is still served", async () => {
    raw = start();
    raw.write("this is not json", { jsonrpc: "2.0", id: 99, result: {} }, initialize(1), initialized, { jsonrpc: "2.0", id: 2, method: "ping" });
    expect(await raw.answers([1, 2])).toEqual([1, 2]);
    expect((answer(raw, 1).result as { serverInfo: { name: string } }).serverInfo.name).toBe("mcp-herd");
    expect(raw.proc.exitCode).toBeNull();
  });

  it("a 2025 client's malformed tools/call (no name, arguments not an object) is -32602, and the next call is answered", async () => {
    raw = start();
    raw.write(initialize(1), initialized);
    await raw.answers([1]);
    raw.write(
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: {} },
      { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "service_list", arguments: [1, 2] } },
      { jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "service_list", arguments: {} } },
    );
    await raw.answers([2, 3, 4]);
    for (const id of [2, 3]) expect(answer(raw, id).error).toMatchObject({ code: -32602, message: expect.stringMatching(/Invalid tools\/call request/) });
    expect((answer(raw, 4).result as { content: unknown[] }).content.length).toBeGreaterThan(0);
  });

  it("a service's result without content reaches a 2025 client with an empty content array, its structuredContent kept", async () => {
    raw = start();
    raw.write(initialize(1), initialized);
    await raw.answers([1]);
    const args = { name: "bare", command: process.execPath, args: [join(ROOT, "test", "fixtures", "contentless-result.mjs")] };
    raw.write({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "service_load", arguments: args } });
    await raw.answers([2]);
    expect((answer(raw, 2).result as { isError?: boolean }).isError).toBeFalsy();
    raw.write({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "bare__bare", arguments: {} } });
    await raw.answers([3]);
    expect(answer(raw, 3).result).toEqual({ structuredContent: { ok: true }, content: [] });
  });
});
