import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { allText, ROOT, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { INIT, MCP_HEADERS, raw } from "../helpers/http.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const COUNTER = join(ROOT, "test", "fixtures", "run-counter-server.mjs");
const TOKEN = "pt-sessions-token-0123456789";
const auth = { Authorization: `Bearer ${TOKEN}` };

async function load(herd: Herd, name: string, args: string[], env?: Record<string, string>): Promise<void> {
  const r = (await herd.client.callTool({ name: "service_load", arguments: { name, command: process.execPath, args, ...(env ? { env } : {}) } })) as CallToolResult;
  expect((r.structuredContent as { status?: string }).status, allText(r)).toBe("running");
}

async function open(url: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: "pt-sessions", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: auth } });
  await client.connect(transport);
  return { client, transport };
}

async function health(herd: Herd): Promise<number> {
  return (JSON.parse((await raw(`${herd.base}/health`, { method: "GET" })).body) as { sessions: number }).sessions;
}

function herdWith(http: Record<string, number>): { dir: string; args: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "herd-pt-sessions-"));
  const file = join(dir, "config.json");
  writeFileSync(file, JSON.stringify({ http }));
  return { dir, args: ["--config", file] };
}

describe("per-service endpoint sessions share /mcp's one session table: its cap and its idle expiry", () => {
  const dirs: string[] = [];
  let herd: Herd | undefined;
  afterEach(async () => {
    await herd?.close();
    herd = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("with maxSessions 3, one /mcp session and two per-service sessions fill the cap for both endpoints", async () => {
    const cfg = herdWith({ maxSessions: 3 });
    dirs.push(cfg.dir);
    herd = await startHerd({ http: true, token: TOKEN, args: cfg.args });
    await load(herd, "echo", [ECHO]);
    const endpoint = `${herd.base}/services/echo/mcp`;
    const first = await open(endpoint);
    const second = await open(endpoint);
    expect(await health(herd)).toBe(3);
    // Every open session holds its GET stream (the SDK client opens one): none is idle, so a fourth is refused.
    const viaService = await raw(endpoint, { headers: { ...MCP_HEADERS, ...auth }, body: INIT });
    expect(viaService.status, viaService.body).toBe(503);
    expect(viaService.body).toMatch(/Too many open sessions/);
    const viaMcp = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...auth }, body: INIT });
    expect(viaMcp.status, viaMcp.body).toBe(503);
    // A per-service session that ends frees its slot for /mcp.
    await second.transport.terminateSession();
    await second.client.close();
    expect(await waitFor(async () => (await health(herd!)) === 2)).toBe(true);
    const third = await herd.connect();
    expect((await third.listTools()).tools.some((t) => t.name === "echo__echo")).toBe(true);
    await first.client.close();
  });

  it("at the cap an idle per-service session is evicted to make room for a new /mcp session", async () => {
    const cfg = herdWith({ maxSessions: 2 });
    dirs.push(cfg.dir);
    herd = await startHerd({ http: true, token: TOKEN, args: cfg.args });
    await load(herd, "echo", [ECHO]);
    const endpoint = `${herd.base}/services/echo/mcp`;
    // A raw session opens no GET stream: nothing of it is open, so it is the idle one.
    const init = await raw(endpoint, { headers: { ...MCP_HEADERS, ...auth }, body: INIT });
    expect(init.status, init.body).toBe(200);
    const headers = { ...MCP_HEADERS, ...auth, "mcp-session-id": String(init.headers["mcp-session-id"]), "mcp-protocol-version": "2025-06-18" };
    expect(await health(herd)).toBe(2);
    const third = await herd.connect();
    expect((await third.listTools()).tools.some((t) => t.name === "echo__echo")).toBe(true);
    expect(await health(herd)).toBe(2);
    expect((await raw(endpoint, { headers, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" }) })).status).toBe(404);
  });

  it("a per-service session id is not a /mcp session, and an idle per-service session expires with the /mcp sweep", async () => {
    const cfg = herdWith({ sessionIdleSeconds: 2 });
    dirs.push(cfg.dir);
    herd = await startHerd({ http: true, token: TOKEN, args: cfg.args });
    await load(herd, "echo", [ECHO]);
    const endpoint = `${herd.base}/services/echo/mcp`;
    const init = await raw(endpoint, { headers: { ...MCP_HEADERS, ...auth }, body: INIT });
    expect(init.status, init.body).toBe(200);
    const sid = String(init.headers["mcp-session-id"]);
    const ping = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" });
    const headers = { ...MCP_HEADERS, ...auth, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" };
    expect((await raw(herd.url!, { headers, body: ping })).status).toBe(404);
    expect((await raw(endpoint, { headers, body: ping })).status).toBe(200);
    // Untouched for twice sessionIdleSeconds (the sweep runs every second): gone.
    await new Promise((r) => setTimeout(r, 5_000));
    expect((await raw(endpoint, { headers, body: ping })).status).toBe(404);
  });
});

describe("per-service endpoint sessions follow their service: list_changed after a restart, closed at unload", () => {
  let herd: Herd;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-pt-restart-"));
    herd = await startHerd({ http: true, token: TOKEN });
    await load(herd, "rc", [COUNTER], { RUN_COUNTER_FILE: join(dir, "runs") });
  }, 60_000);
  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a session hears tools, prompts and resources list_changed when the service restarts with other lists, and lists the new ones", async () => {
    const { client } = await open(`${herd.base}/services/rc/mcp`);
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["run-1"]);
      const heard: string[] = [];
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard.push("tools"));
      client.setNotificationHandler(PromptListChangedNotificationSchema, () => void heard.push("prompts"));
      client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void heard.push("resources"));
      const r = (await herd.client.callTool({ name: "service_restart", arguments: { name: "rc" } })) as CallToolResult;
      expect(r.isError, allText(r)).toBeFalsy();
      expect(await waitFor(() => heard.length >= 3, 15_000)).toBe(true);
      expect([...heard].sort()).toEqual(["prompts", "resources", "tools"]);
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(["run-2"]);
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toContain("prompt-2");
      expect((await client.listResources()).resources.map((x) => x.uri)).toContain("fixture://run/2");
    } finally {
      await client.close();
    }
  });

  it("unloading the service ends the session's open GET stream, and its next request is a 404 naming the service", async () => {
    const endpoint = `${herd.base}/services/rc/mcp`;
    const init = await raw(endpoint, { headers: { ...MCP_HEADERS, ...auth }, body: INIT });
    expect(init.status, init.body).toBe(200);
    const sid = String(init.headers["mcp-session-id"]);
    const headers = { ...auth, "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" };
    const initialized = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
    expect((await raw(endpoint, { headers: { ...MCP_HEADERS, ...headers }, body: initialized })).status).toBe(202);
    let ended = false;
    const stream = raw(endpoint, { method: "GET", headers: { ...headers, accept: "text/event-stream" } }).then((r) => {
      ended = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(ended).toBe(false);
    const r = (await herd.client.callTool({ name: "service_unload", arguments: { name: "rc" } })) as CallToolResult;
    expect(r.isError, allText(r)).toBeFalsy();
    expect(await waitFor(() => ended, 10_000)).toBe(true);
    expect((await stream).status).toBe(200);
    const after = await raw(endpoint, { headers: { ...MCP_HEADERS, ...headers }, body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "ping" }) });
    expect(after.status).toBe(404);
    expect(after.body).toMatch(/service 'rc' is not loaded \(it was unloaded/);
  });
});
