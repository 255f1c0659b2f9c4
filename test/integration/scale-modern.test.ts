import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp, type CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, ROOT, waitFor } from "../helpers/herd.js";
import { freshFetch } from "../helpers/fresh-fetch.js";
import { listServices, startReplicas, type Replicas } from "../helpers/replicas.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const TOKEN = "replica-modern-token-0123456789abcdef";
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const MODERN = "2026-07-28";

function modernClient(): ModernClient {
  return new ModernClient({ name: "modern-rr", version: "0" }, { versionNegotiation: { mode: { pin: MODERN } } });
}

/** How many of `routed` went to each of the two replicas. */
function perReplica(routed: readonly number[]): [number, number] {
  return [routed.filter((u) => u === 0).length, routed.filter((u) => u === 1).length];
}

describe("two mcp-herd replicas behind one round-robin address serve 2026-07-28 clients (no session ties them to a process)", () => {
  let replicas: Replicas;
  let dir: string;
  const clients: ModernClient[] = [];

  async function connect(fresh: boolean): Promise<ModernClient> {
    const client = modernClient();
    await client.connect(new ModernHttp(new URL(replicas.url), { requestInit: { headers: AUTH }, ...(fresh ? { fetch: freshFetch } : {}) }));
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-replicas-modern-"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({}));
    replicas = await startReplicas(2, { token: TOKEN, args: ["--config", join(dir, "config.json")], env: { MCP_HERD_FOLLOW_POLL_MS: "200" } });
    const r = (await replicas.herds[0]!.client.callTool({ name: "service_load", arguments: { name: "echo", command: process.execPath, args: [ECHO] } })) as CallToolResult;
    expect(r.isError, allText(r as never)).toBeFalsy();
    expect(await waitFor(async () => (await listServices(replicas.herds[1]!)).echo?.status === "running", 20_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await replicas?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("one modern client, a new connection per request: 1,000 calls of a service tool with no error, routed to both replicas", async () => {
    const client = await connect(true);
    expect(client.getProtocolEra()).toBe("modern");
    const before = replicas.proxy.routed.length;
    for (let i = 0; i < 1000; i++) {
      const r = (await client.callTool({ name: "echo__echo", arguments: { message: `call ${i}` } })) as CallToolResult;
      if (r.isError || allText(r as never) !== `call ${i}`) expect.fail(`call ${i}: ${JSON.stringify(r)}`);
    }
    const used = replicas.proxy.routed.slice(before);
    expect(used.length).toBeGreaterThanOrEqual(1000);
    const [a, b] = perReplica(used);
    // Strict alternation of connections: each replica answered about half of the calls.
    expect(a).toBeGreaterThanOrEqual(450);
    expect(b).toBeGreaterThanOrEqual(450);
    // Neither replica holds a session for it.
    for (const h of replicas.herds) {
      const health = (await (await fetch(`${h.base}/health`)).json()) as { sessions: number };
      expect(health.sessions).toBe(1);
    }
  }, 180_000);

  it("several keep-alive modern clients at once (each pinned to the connection it opened): 400 calls with progress, no error, both replicas used", async () => {
    const before = replicas.proxy.routed.length;
    const many = await Promise.all(Array.from({ length: 4 }, () => connect(false)));
    const runs = many.map(async (client, k) => {
      for (let i = 0; i < 100; i++) {
        const r = (await client.callTool({ name: "echo__echo", arguments: { message: `c${k}-${i}` } })) as CallToolResult;
        if (r.isError || allText(r as never) !== `c${k}-${i}`) expect.fail(`client ${k} call ${i}: ${JSON.stringify(r)}`);
      }
      const seen: number[] = [];
      const slow = await client.callTool({ name: "echo__slow", arguments: { steps: 2, ms: 10 } }, { onprogress: (p) => void seen.push(p.progress) });
      expect(allText(slow as never)).toBe("done 2");
      expect(seen).toEqual([1, 2]);
    });
    await Promise.all(runs);
    const [a, b] = perReplica(replicas.proxy.routed.slice(before));
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
  }, 120_000);

  it("a service a modern client loads through the balancer runs on both replicas (--follow-state), and its calls work on either", async () => {
    const client = await connect(true);
    const r = (await client.callTool({ name: "service_load", arguments: { name: "echo2", command: process.execPath, args: [ECHO] } })) as CallToolResult;
    expect(r.isError, allText(r as never)).toBeFalsy();
    for (const h of replicas.herds) expect(await waitFor(async () => (await listServices(h)).echo2?.status === "running", 20_000)).toBe(true);
    const before = replicas.proxy.routed.length;
    for (let i = 0; i < 50; i++) {
      const c = (await client.callTool({ name: "echo2__echo", arguments: { message: `two ${i}` } })) as CallToolResult;
      if (c.isError || allText(c as never) !== `two ${i}`) expect.fail(`call ${i}: ${JSON.stringify(c)}`);
    }
    const [a, b] = perReplica(replicas.proxy.routed.slice(before));
    expect(a).toBeGreaterThanOrEqual(20);
    expect(b).toBeGreaterThanOrEqual(20);
  }, 60_000);
});
