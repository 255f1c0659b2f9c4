import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp, type CallToolResult as ModernResult } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdio } from "@modelcontextprotocol/client/stdio";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyHttp } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT, cleanEnv, waitFor } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const CONTENT = join(ROOT, "test", "fixtures", "content-server.mjs");
const MODERN = "2026-07-28";
const TOKEN = "eras-test-token-0123456789";

/** A 2026-07-28 client: no initialize, server/discover, the _meta envelope on every request. */
const modernClient = () => new ModernClient({ name: "modern-test", version: "0" }, { versionNegotiation: { mode: { pin: MODERN } } });

function text(r: { content?: unknown }): string {
  return ((r.content ?? []) as Array<{ type: string; text?: string }>).map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

/** A state folder and a config with the echo and content fixtures as services. */
function workspace(): { dir: string; args: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "herd-eras-"));
  const config = join(dir, "config.json");
  writeFileSync(
    config,
    JSON.stringify({
      services: { echo: { command: process.execPath, args: [ECHO] }, content: { command: process.execPath, args: [CONTENT] } },
    }),
  );
  return { dir, args: [CLI, "--state-dir", join(dir, "state"), "--config", config] };
}

interface Served {
  client: ModernClient;
  /** Connects another modern client to a path of the same server (HTTP only). */
  connect?(path: string): Promise<ModernClient>;
  url?: string;
  close(): Promise<void>;
}

async function serveModern(mode: "http" | "stdio"): Promise<Served> {
  const ws = workspace();
  const env = cleanEnv({ MCP_HERD_TOKEN: mode === "http" ? TOKEN : undefined });
  const clients: ModernClient[] = [];
  if (mode === "stdio") {
    const client = modernClient();
    await client.connect(new ModernStdio({ command: process.execPath, args: ws.args, env, stderr: "ignore" }));
    return {
      client,
      async close() {
        await client.close().catch(() => undefined);
        rmSync(ws.dir, { recursive: true, force: true });
      },
    };
  }
  const proc: ChildProcess = spawn(process.execPath, [...ws.args, "--http", "127.0.0.1:0"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const { url } = await waitListening(proc, "mcp-herd");
  const connect = async (path: string) => {
    const client = modernClient();
    await client.connect(new ModernHttp(new URL(path, url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    clients.push(client);
    return client;
  };
  const client = await connect("/mcp");
  return {
    client,
    connect,
    url,
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await stopProc(proc);
      rmSync(ws.dir, { recursive: true, force: true });
    },
  };
}

describe.each([["http" as const], ["stdio" as const]])("a 2026-07-28 client over %s", (mode) => {
  let served: Served;
  let client: ModernClient;

  beforeAll(async () => {
    served = await serveModern(mode);
    client = served.client;
    expect(await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === "content__add-resource"), 20_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await served?.close();
  });

  it("connects in the modern era, without initialize, and server/discover names mcp-herd", async () => {
    expect(client.getProtocolEra()).toBe("modern");
    expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
    const discover = client.getDiscoverResult();
    expect(discover?.supportedVersions).toContain(MODERN);
    expect(discover?.capabilities.tools).toBeDefined();
    expect(client.getServerVersion()?.name).toBe("mcp-herd");
  });

  it("lists and calls our own tools and the services' tools (<service>__<tool>)", async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["service_list", "echo__echo", "echo__add", "content__add-resource"]));
    expect(text(await client.callTool({ name: "echo__echo", arguments: { message: "hello modern" } }))).toBe("hello modern");
    const sum = (await client.callTool({ name: "echo__add", arguments: { a: 2, b: 3 } })) as ModernResult;
    expect(sum.structuredContent).toEqual({ sum: 5 });
    const list = (await client.callTool({ name: "service_list", arguments: {} })) as ModernResult;
    expect(list.isError).toBeFalsy();
    expect(text(list)).toContain("echo");
    const bad = (await client.callTool({ name: "echo__add", arguments: { a: "two" } })) as ModernResult;
    expect(bad.isError).toBe(true);
  });

  it("reads our resources and a service's, and gets a service's prompt", async () => {
    const uris = (await client.listResources()).resources.map((r) => r.uri);
    expect(uris).toEqual(expect.arrayContaining(["herd://services", "fixture://note"]));
    const services = await client.readResource({ uri: "herd://services" });
    expect(JSON.stringify(services.contents)).toContain("echo");
    const note = await client.readResource({ uri: "fixture://note" });
    expect(note.contents[0]).toMatchObject({ uri: "fixture://note", text: "the note" });
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toContain("content__greet");
    const prompt = await client.getPrompt({ name: "content__greet", arguments: { who: "Ada" } });
    expect(JSON.stringify(prompt.messages)).toContain("Ada");
    await expect(client.readResource({ uri: "nope://nothing" })).rejects.toMatchObject({ code: -32602 });
  });

  it("passes a service's progress through to the caller", async () => {
    const seen: number[] = [];
    const r = await client.callTool({ name: "echo__slow", arguments: { steps: 3, ms: 30 } }, { onprogress: (p) => void seen.push(p.progress) });
    expect(text(r)).toBe("done 3");
    expect(seen).toEqual([1, 2, 3]);
  });

  it("cancels a call in flight: the call ends at once and the service's handler sees the abort", async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 300);
    await expect(client.callTool({ name: "echo__slow", arguments: { steps: 100, ms: 50 } }, { signal: ac.signal })).rejects.toThrow(/abort/i);
    expect(Date.now() - started).toBeLessThan(3_000);
    const logs = async () => text(await client.callTool({ name: "service_logs", arguments: { name: "echo", stream: "stderr" } }));
    expect(await waitFor(async () => /slow cancelled at step/.test(await logs()), 10_000)).toBe(true);
  });

  it("hears list changes on a subscriptions/listen stream", async () => {
    let tools = 0;
    let resources = 0;
    client.setNotificationHandler("notifications/tools/list_changed", () => void tools++);
    client.setNotificationHandler("notifications/resources/list_changed", () => void resources++);
    const sub = await client.listen({ toolsListChanged: true, resourcesListChanged: true });
    expect(sub.honoredFilter).toMatchObject({ toolsListChanged: true, resourcesListChanged: true });
    await client.callTool({ name: "echo__add_tool", arguments: { name: `added_${mode}` } });
    expect(await waitFor(() => tools > 0, 10_000)).toBe(true);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain(`echo__added_${mode}`);
    await client.callTool({ name: "content__add-resource", arguments: {} });
    expect(await waitFor(() => resources > 0, 10_000)).toBe(true);
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain("fixture://added/1");
  });

  if (mode !== "http") return;

  it("serves a service as itself on /services/<name>/mcp", async () => {
    const own = await served.connect!("/services/echo/mcp");
    expect(own.getProtocolEra()).toBe("modern");
    expect(own.getServerVersion()?.name).not.toBe("mcp-herd");
    const names = (await own.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["echo", "slow"]));
    expect(text(await own.callTool({ name: "echo", arguments: { message: "as itself" } }))).toBe("as itself");
    const seen: number[] = [];
    await own.callTool({ name: "slow", arguments: { steps: 2, ms: 20 } }, { onprogress: (p) => void seen.push(p.progress) });
    expect(seen).toEqual([1, 2]);
    let changed = 0;
    own.setNotificationHandler("notifications/tools/list_changed", () => void changed++);
    await own.listen({ toolsListChanged: true });
    await own.callTool({ name: "add_tool", arguments: { name: "own_added" } });
    expect(await waitFor(() => changed > 0, 10_000)).toBe(true);
    expect((await own.listTools()).tools.map((t) => t.name)).toContain("own_added");
  });

  it("a method the service does not know is a 404 with -32601 on /services/<name>/mcp, as on /mcp; a known method's error stays on 200", async () => {
    const post = (path: string, method: string, params: Record<string, unknown> = {}, extra: Record<string, string> = {}) =>
      fetch(new URL(path, served.url!), {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${TOKEN}`, "mcp-protocol-version": MODERN, "mcp-method": method, ...extra },
        body: JSON.stringify({ jsonrpc: "2.0", id: 7, method, params: { ...params, _meta: { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {} } } }),
      });
    for (const path of ["/mcp", "/services/echo/mcp"]) {
      const res = await post(path, "no/such-method");
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error?: { code: number } }).error?.code, path).toBe(-32601);
    }
    const known = await post("/services/echo/mcp", "tools/call", { name: "no_such_tool", arguments: {} }, { "mcp-name": "no_such_tool" });
    expect(known.status).toBe(200);
    expect(((await known.json()) as { error?: { code: number } }).error?.code).not.toBe(-32601);
  });

  it("keeps the token and the Origin check in front of the modern side", async () => {
    const stranger = modernClient();
    await expect(stranger.connect(new ModernHttp(new URL(served.url!)))).rejects.toMatchObject({ status: 401 });
    const res = await fetch(served.url!, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${TOKEN}`, origin: "http://evil.example" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: { "io.modelcontextprotocol/protocolVersion": MODERN } } }),
    });
    expect(res.status).toBe(403);
  });
});

describe("a 2026-07-28 client and a 1.x client at the same time against one server (HTTP)", () => {
  let served: Served;
  let legacy: LegacyClient;

  beforeAll(async () => {
    served = await serveModern("http");
    legacy = new LegacyClient({ name: "legacy-test", version: "0" });
    await legacy.connect(new LegacyHttp(new URL(served.url!), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    expect(await waitFor(async () => (await legacy.listTools()).tools.some((t) => t.name === "echo__echo"), 20_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await legacy?.close().catch(() => undefined);
    await served?.close();
  });

  it("both call tools, service tools, resources and prompts concurrently and each gets its own answers", async () => {
    expect(served.client.getProtocolEra()).toBe("modern");
    expect(legacy.getServerVersion()?.name).toBe("mcp-herd");
    const modernCalls = Array.from({ length: 20 }, (_, i) => served.client.callTool({ name: "echo__echo", arguments: { message: `m${i}` } }).then(text));
    const legacyCalls = Array.from({ length: 20 }, (_, i) => legacy.callTool({ name: "echo__echo", arguments: { message: `l${i}` } }).then((r) => text(r as ModernResult)));
    const [m, l] = await Promise.all([Promise.all(modernCalls), Promise.all(legacyCalls)]);
    expect(m).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(l).toEqual(Array.from({ length: 20 }, (_, i) => `l${i}`));
    const [mr, lr] = await Promise.all([served.client.readResource({ uri: "fixture://note" }), legacy.readResource({ uri: "fixture://note" })]);
    expect(mr.contents).toEqual(lr.contents);
    const [mp, lp] = await Promise.all([served.client.getPrompt({ name: "content__greet", arguments: { who: "Bo" } }), legacy.getPrompt({ name: "content__greet", arguments: { who: "Bo" } })]);
    expect(mp.messages).toEqual(lp.messages);
  });

  it("progress and cancellation work for both at once", async () => {
    const mSeen: number[] = [];
    const lSeen: number[] = [];
    const [m, l] = await Promise.all([
      served.client.callTool({ name: "echo__slow", arguments: { steps: 3, ms: 30 } }, { onprogress: (p) => void mSeen.push(p.progress) }),
      legacy.callTool({ name: "echo__slow", arguments: { steps: 3, ms: 30 } }, undefined, { onprogress: (p) => void lSeen.push(p.progress) }),
    ]);
    expect([text(m), text(l as ModernResult)]).toEqual(["done 3", "done 3"]);
    expect(mSeen).toEqual([1, 2, 3]);
    expect(lSeen).toEqual([1, 2, 3]);
    const mAbort = new AbortController();
    const lAbort = new AbortController();
    setTimeout(() => {
      mAbort.abort();
      lAbort.abort();
    }, 300);
    const results = await Promise.allSettled([
      served.client.callTool({ name: "echo__slow", arguments: { steps: 100, ms: 50 } }, { signal: mAbort.signal }),
      legacy.callTool({ name: "echo__slow", arguments: { steps: 100, ms: 50 } }, undefined, { signal: lAbort.signal }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    const logs = async () => text((await legacy.callTool({ name: "service_logs", arguments: { name: "echo", stream: "stderr" } })) as ModernResult);
    expect(await waitFor(async () => ((await logs()).match(/slow cancelled at step/g) ?? []).length >= 2, 10_000)).toBe(true);
  });

  it("a tool list change reaches the 1.x session as a notification and the modern client on its listen stream", async () => {
    let legacyHeard = 0;
    let modernHeard = 0;
    legacy.setNotificationHandler(ToolListChangedNotificationSchema, () => void legacyHeard++);
    served.client.setNotificationHandler("notifications/tools/list_changed", () => void modernHeard++);
    await served.client.listen({ toolsListChanged: true });
    await legacy.callTool({ name: "echo__add_tool", arguments: { name: "both_eras" } });
    expect(await waitFor(() => legacyHeard > 0 && modernHeard > 0, 10_000)).toBe(true);
    const [m, l] = await Promise.all([served.client.listTools(), legacy.listTools()]);
    expect(m.tools.map((t) => t.name)).toContain("echo__both_eras");
    expect(l.tools.map((t) => t.name)).toContain("echo__both_eras");
  });
});
