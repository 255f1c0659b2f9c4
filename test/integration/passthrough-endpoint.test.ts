import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema, type CallToolResult, type Tool } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { allText, ROOT, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { INIT, MCP_HEADERS, raw } from "../helpers/http.js";

const FIXTURE = join(ROOT, "test", "fixtures", "passthrough-server.mjs");
const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const TOKEN = "pt-endpoint-token-0123456789";
const Loose = z.looseObject({});

describe("a service served as itself at /services/<name>/mcp, and its tools unchanged on /mcp", () => {
  let herd: Herd;
  let endpoint: string;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const connectTo = async (url: string, client = new Client({ name: "pt", version: "1" })) => {
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: auth } }));
    return client;
  };
  beforeAll(async () => {
    herd = await startHerd({ http: true, token: TOKEN });
    const r = (await herd.client.callTool({ name: "service_load", arguments: { name: "pt", command: process.execPath, args: [FIXTURE] } })) as CallToolResult;
    expect((r.structuredContent as { status?: string }).status, allText(r)).toBe("running");
    endpoint = `${herd.base}/services/pt/mcp`;
  }, 60_000);
  afterAll(async () => {
    await herd?.close();
  });

  it("answers initialize with the service's own serverInfo, instructions and capabilities, and its tools unprefixed", async () => {
    const c = await connectTo(endpoint);
    try {
      expect(c.getServerVersion()).toMatchObject({ name: "pt-fixture", version: "3.1.4" });
      expect(c.getInstructions()).toBe("fixture instructions");
      expect(c.getServerCapabilities()).toEqual({ tools: {}, logging: {} });
      const tools = (await c.listTools()).tools;
      expect(tools.map((t) => t.name)).toEqual(["meta", "flood", "level"]);
      const r = (await c.callTool({ name: "meta", arguments: { n: 3 } })) as CallToolResult;
      expect(r).toEqual({ content: [{ type: "text", text: "n=3" }], structuredContent: { n: 3 }, _meta: { "x-fixture/trace": "t-1" } });
    } finally {
      await c.close();
    }
  });

  it("forwards a method and a notification no spec defines, both ways", async () => {
    const c = await connectTo(endpoint);
    try {
      await c.notification({ method: "notifications/custom-hello", params: { x: 1 } });
      const r = await c.request({ method: "custom/echo", params: { a: [1, "two"] } }, Loose);
      expect(r.echoed).toEqual({ a: [1, "two"] });
      expect(r.notes).toContain("notifications/custom-hello");
      // The service's own JSON-RPC error comes back as it sent it, with one prefix (the client's).
      await expect(c.request({ method: "custom/nope", params: {} }, Loose)).rejects.toMatchObject({ code: -32601, message: "MCP error -32601: no such method custom/nope" });
    } finally {
      await c.close();
    }
  });

  it("on /mcp a proxied tool keeps _meta, execution, icons, title, annotations and schemas, and its result keeps _meta", async () => {
    const direct = await connectTo(endpoint);
    const own = (await direct.listTools()).tools.find((t) => t.name === "meta")!;
    await direct.close();
    const proxied = (await herd.client.listTools()).tools.find((t) => t.name === "pt__meta") as Tool;
    const { name: _a, description: _b, ...rest } = own;
    expect({ ...proxied, name: undefined, description: undefined }).toEqual({ ...rest, name: undefined, description: undefined });
    expect(proxied._meta).toEqual({ "ui/resourceUri": "ui://fixture/meta" });
    expect(proxied.execution).toEqual({ taskSupport: "optional" });
    const r = (await herd.client.callTool({ name: "pt__meta", arguments: { n: 5 } })) as CallToolResult;
    expect(r._meta).toEqual({ "x-fixture/trace": "t-1" });
  });

  it("keeps the /mcp guards: no token is 401, a foreign Host is 403, an oversized body is 413, an unknown service is 404", async () => {
    expect((await raw(endpoint, { headers: MCP_HEADERS, body: INIT })).status).toBe(401);
    expect((await raw(endpoint, { headers: { ...MCP_HEADERS, ...auth, host: "evil.example:80" }, body: INIT })).status).toBe(403);
    expect((await raw(endpoint, { headers: { ...MCP_HEADERS, ...auth, origin: "http://evil.example" }, body: INIT })).status).toBe(403);
    const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { pad: "x".repeat(5 * 1024 * 1024) } });
    expect((await raw(endpoint, { headers: { ...MCP_HEADERS, ...auth }, body: big })).status).toBe(413);
    const none = await raw(`${herd.base}/services/nosuch/mcp`, { headers: { ...MCP_HEADERS, ...auth }, body: INIT });
    expect(none.status).toBe(404);
    expect(none.body).toContain("no service named 'nosuch'");
    expect((await raw(`${herd.base}/services/pt%2F..%2Fx/mcp`, { headers: { ...MCP_HEADERS, ...auth }, body: INIT })).status).toBe(404);
  });

  it("a restart of the service is invisible to an open per-service session", async () => {
    const c = await connectTo(endpoint);
    try {
      const r = (await herd.client.callTool({ name: "service_restart", arguments: { name: "pt" } })) as CallToolResult;
      expect(r.isError, allText(r)).toBeFalsy();
      const after = (await c.callTool({ name: "meta", arguments: { n: 9 } })) as CallToolResult;
      expect(after.structuredContent).toEqual({ n: 9 });
    } finally {
      await c.close();
    }
  }, 30_000);

  it("through the endpoint: progress arrives, cancelling reaches the child, a crash mid-call fails fast and the session lives on", async () => {
    const load = (await herd.client.callTool({ name: "service_load", arguments: { name: "echo", command: process.execPath, args: [ECHO] } })) as CallToolResult;
    expect((load.structuredContent as { status?: string }).status, allText(load)).toBe("running");
    const c = await connectTo(`${herd.base}/services/echo/mcp`);
    try {
      const steps: number[] = [];
      const done = (await c.callTool({ name: "slow", arguments: { steps: 3, ms: 50 } }, undefined, { onprogress: (p) => void steps.push(p.progress) })) as CallToolResult;
      expect(allText(done)).toBe("done 3");
      expect(steps).toEqual([1, 2, 3]);

      const ctrl = new AbortController();
      const slow = c.callTool({ name: "slow", arguments: { steps: 100, ms: 100 } }, undefined, { signal: ctrl.signal });
      setTimeout(() => ctrl.abort("enough"), 400);
      await expect(slow).rejects.toThrow();
      const logs = async () => allText((await herd.client.callTool({ name: "service_logs", arguments: { name: "echo" } })) as CallToolResult);
      expect(await waitFor(async () => /slow cancelled at step/.test(await logs()), 10_000)).toBe(true);

      const started = Date.now();
      await expect(c.callTool({ name: "crash", arguments: {} })).rejects.toThrow(/exited \(exit code 3\)/);
      expect(Date.now() - started).toBeLessThan(10_000);
      const back = await waitFor(async () => {
        const r = (await c.callTool({ name: "echo", arguments: { message: "back" } }).catch(() => undefined)) as CallToolResult | undefined;
        return r !== undefined && allText(r) === "back";
      }, 20_000, 200);
      expect(back).toBe(true);
    } finally {
      await c.close();
    }
  }, 60_000);

  it("the most verbose logging/setLevel of any session reaches the child, also after a restart", async () => {
    const quiet = await connectTo(herd.url!);
    try {
      await quiet.setLoggingLevel("error");
      await herd.client.setLoggingLevel("debug");
      const level = async () => allText((await herd.client.callTool({ name: "pt__level", arguments: {} })) as CallToolResult);
      expect(await waitFor(async () => (await level()) === "debug", 5_000)).toBe(true);
      await herd.client.callTool({ name: "service_restart", arguments: { name: "pt" } });
      expect(await waitFor(async () => (await level()) === "debug", 5_000)).toBe(true);
    } finally {
      await quiet.close();
    }
  }, 30_000);

  it("a child flooding log messages: they are bounded with a counted note, and the server keeps serving", async () => {
    const c = new Client({ name: "pt", version: "1" });
    let received = 0;
    c.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      if (n.params.logger === "pt/flood") received++;
    });
    await connectTo(herd.url!, c);
    try {
      const started = Date.now();
      const r = (await c.callTool({ name: "pt__flood", arguments: { count: 20_000 } })) as CallToolResult;
      expect(allText(r)).toBe("flooded 20000");
      const echo = (await c.callTool({ name: "pt__meta", arguments: { n: 1 } })) as CallToolResult;
      expect(echo.structuredContent).toEqual({ n: 1 });
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(await waitFor(async () => /dropped \d+ log message/.test(allText((await c.callTool({ name: "service_logs", arguments: { name: "pt" } })) as CallToolResult)), 5_000)).toBe(true);
      expect(received).toBeLessThan(20_000);
      expect(received).toBeGreaterThan(0);
    } finally {
      await c.close();
    }
  }, 60_000);
});
