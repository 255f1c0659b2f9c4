import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, ROOT, waitFor, type Herd } from "../helpers/herd.js";
import { INIT, MCP_HEADERS, raw } from "../helpers/http.js";
import { listServices, startReplicas, type Replicas } from "../helpers/replicas.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const TOKEN = "replica-token-0123456789abcdef";
const AUTH = { authorization: `Bearer ${TOKEN}` };

async function running(herd: Herd, name: string): Promise<boolean> {
  return (await listServices(herd))[name]?.status === "running";
}

/** The JSON-RPC message of a POST answer, whether it came as JSON or as one SSE event. */
function message(body: string): { result?: CallToolResult & Record<string, unknown>; error?: { code: number; message: string } } {
  const data = body.includes("data: ") ? body.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).pop()! : body;
  return JSON.parse(data) as ReturnType<typeof message>;
}

describe("two mcp-herd replicas behind one round-robin address, with 1.x (legacy, session-bound) clients", () => {
  let replicas: Replicas;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-replicas-cfg-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ runnerApi: true }));
    replicas = await startReplicas(2, { token: TOKEN, args: ["--config", join(dir, "config.json")], env: { MCP_HERD_FOLLOW_POLL_MS: "200" } });
    const r = (await replicas.herds[0]!.client.callTool({ name: "service_load", arguments: { name: "echo", command: process.execPath, args: [ECHO] } })) as CallToolResult;
    expect(r.isError, allText(r)).toBeFalsy();
    expect(await waitFor(() => running(replicas.herds[1]!, "echo"), 20_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await replicas?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Makes the proxy's next connection go to replica `index` (by spending one connection when needed). */
  async function nextGoesTo(index: number): Promise<void> {
    if (replicas.proxy.routed.length % 2 !== index) await raw(`${replicas.base}/health`, { method: "GET", agent: false });
  }

  it("each new session on its own connection initializes and calls a service loaded on the other replica, on whichever replica the connection reached", async () => {
    const before = replicas.proxy.routed.length;
    for (let k = 0; k < 4; k++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const init = await raw(replicas.url, { headers: { ...MCP_HEADERS, ...AUTH }, body: INIT, agent });
        expect(init.status, init.body).toBe(200);
        const sid = init.headers["mcp-session-id"] as string;
        expect(sid).toBeTruthy();
        const h = { ...MCP_HEADERS, ...AUTH, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" };
        expect((await raw(replicas.url, { headers: h, body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }), agent })).status).toBe(202);
        const call = await raw(replicas.url, {
          headers: h,
          body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo__echo", arguments: { message: `session ${k}` } } }),
          agent,
        });
        expect(call.status, call.body).toBe(200);
        const m = message(call.body);
        expect(m.result?.isError, call.body).toBeFalsy();
        expect(allText(m.result!)).toBe(`session ${k}`);
      } finally {
        agent.destroy();
      }
    }
    // One connection per session, and the sessions alternated between the two replicas.
    const used = replicas.proxy.routed.slice(before);
    expect(used.length).toBe(4);
    expect(new Set(used)).toEqual(new Set([0, 1]));
    for (let i = 1; i < used.length; i++) expect(used[i]).not.toBe(used[i - 1]);
  });

  it("a session id sent to the other replica is a clear 404 'Session not found' at once, and a 1.x SDK client reconnecting there gets it too, not a hang", async () => {
    await nextGoesTo(0);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const init = await raw(replicas.url, { headers: { ...MCP_HEADERS, ...AUTH }, body: INIT, agent });
    agent.destroy();
    const sid = init.headers["mcp-session-id"] as string;
    expect(sid).toBeTruthy();
    // The next connection goes to replica 1, which has never seen this session.
    const other = await raw(replicas.url, {
      headers: { ...MCP_HEADERS, ...AUTH, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }),
      agent: false,
    });
    expect(other.status, other.body).toBe(404);
    expect(message(other.body).error?.message).toMatch(/^Session not found: .*Initialize a new one\.$/);
    expect(other.ms).toBeLessThan(5_000);

    const client = new Client({ name: "legacy", version: "0" });
    // With a session id the 1.x client skips initialize, as on a reconnect.
    await client.connect(new StreamableHTTPClientTransport(new URL(replicas.herds[1]!.url!), { sessionId: sid, requestInit: { headers: AUTH } }));
    const t0 = Date.now();
    await expect(client.callTool({ name: "echo__echo", arguments: { message: "x" } })).rejects.toThrow(/Session not found/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await client.close();
  });

  it("sessionless calls (the runner API's POST /call) work on either replica: 1,000 calls, each on a new connection, alternate between both with no error", async () => {
    const before = replicas.proxy.routed.length;
    const body = JSON.stringify({ name: "echo", tool: "echo", args: { message: "rr" } });
    for (let i = 0; i < 1000; i++) {
      const r = await raw(`${replicas.base}/call`, { headers: { "content-type": "application/json", ...AUTH }, body, agent: false });
      expect(r.status, r.body).toBe(200);
      const result = (JSON.parse(r.body) as { result: CallToolResult }).result;
      if (result.isError || allText(result) !== "rr") expect.fail(`call ${i}: ${r.body}`);
    }
    const used = replicas.proxy.routed.slice(before);
    expect(used.filter((u) => u === 0).length).toBe(500);
    expect(used.filter((u) => u === 1).length).toBe(500);
  }, 120_000);

  it("a 1.x SDK client through the proxy, whose requests open more than one connection, ends at once with 'Session not found' rather than hanging", async () => {
    const outcomes: string[] = [];
    for (let k = 0; k < 3; k++) {
      const client = new Client({ name: "legacy", version: "0" });
      client.onerror = () => undefined;
      const t0 = Date.now();
      try {
        await client.connect(new StreamableHTTPClientTransport(new URL(replicas.url), { requestInit: { headers: AUTH } }));
        for (let i = 0; i < 5; i++) await client.callTool({ name: "echo__echo", arguments: { message: "x" } }, undefined, { timeout: 10_000 });
        outcomes.push("served");
      } catch (e) {
        expect((e as Error).message).toMatch(/Session not found/);
        outcomes.push("session not found");
      } finally {
        expect(Date.now() - t0).toBeLessThan(15_000);
        await client.close();
      }
    }
    // Measured: always the latter. Such clients need a proxy that keeps a session on one replica.
    expect(outcomes).toContain("session not found");
  });
});
