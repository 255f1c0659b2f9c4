import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdio } from "@modelcontextprotocol/client/stdio";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyHttp } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT, cleanEnv, waitFor } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const SUBSCRIBE = join(ROOT, "test", "fixtures", "subscribe-server.mjs");
const LIVE = join(ROOT, "test", "fixtures", "modern-resources-server.mjs");
const MODERN = "2026-07-28";
const TOKEN = "eras-listen-token-0123456789";

function text(r: { content?: unknown }): string {
  return ((r.content ?? []) as Array<{ type: string; text?: string }>).map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

describe.each([["http" as const], ["stdio" as const]])("a 2026-07-28 client's listen stream follows a service's resources over %s", (mode) => {
  let dir: string;
  let proc: ChildProcess | undefined;
  let url: string | undefined;
  let client: ModernClient;
  const updates: string[] = [];
  /** The URIs the service itself holds subscriptions for now. */
  const atService = async () => text(await client.callTool({ name: "sub__subscribed", arguments: {} }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-eras-listen-"));
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ services: { sub: { command: process.execPath, args: [SUBSCRIBE] } } }));
    const args = [CLI, "--state-dir", join(dir, "state"), "--config", config];
    client = new ModernClient({ name: "modern-listen", version: "0" }, { versionNegotiation: { mode: { pin: MODERN } } });
    if (mode === "stdio") {
      await client.connect(new ModernStdio({ command: process.execPath, args, env: cleanEnv(), stderr: "ignore" }));
    } else {
      proc = spawn(process.execPath, [...args, "--http", "127.0.0.1:0"], { env: cleanEnv({ MCP_HERD_TOKEN: TOKEN }), stdio: ["ignore", "pipe", "pipe"] });
      url = (await waitListening(proc, "mcp-herd")).url;
      await client.connect(new ModernHttp(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    }
    expect(client.getProtocolEra()).toBe("modern");
    client.setNotificationHandler("notifications/resources/updated", (n) => void updates.push(n.params.uri));
    expect(await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === "sub__touch"), 20_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await client?.close().catch(() => undefined);
    if (proc) await stopProc(proc);
    rmSync(dir, { recursive: true, force: true });
  });

  it("subscribes at the service while a stream names the URI, passes its updates on, and unsubscribes once no stream names it", async () => {
    expect(await atService()).toBe("");
    const a = await client.listen({ resourceSubscriptions: ["sub://a"] });
    expect(a.honoredFilter.resourceSubscriptions).toEqual(["sub://a"]);
    expect(await waitFor(async () => (await atService()) === "sub://a", 10_000)).toBe(true);
    expect(text(await client.callTool({ name: "sub__touch", arguments: { uri: "sub://a" } }))).toBe("updated: sub://a");
    expect(await waitFor(() => updates.includes("sub://a"), 10_000)).toBe(true);
    // A URI no stream names is not subscribed at the service, so it sends no update for it.
    expect(text(await client.callTool({ name: "sub__touch", arguments: { uri: "sub://b" } }))).toBe("not subscribed: sub://b");

    const both = await client.listen({ resourceSubscriptions: ["sub://a", "sub://b"] });
    expect(await waitFor(async () => (await atService()) === "sub://a\nsub://b", 10_000)).toBe(true);
    updates.length = 0;
    expect(text(await client.callTool({ name: "sub__touch", arguments: { uri: "sub://b" } }))).toBe("updated: sub://b");
    expect(await waitFor(() => updates.includes("sub://b"), 10_000)).toBe(true);
    // Closing the second stream drops sub://b only: the first still follows sub://a.
    await both.close();
    expect(await waitFor(async () => (await atService()) === "sub://a", 10_000)).toBe(true);
    await a.close();
    expect(await waitFor(async () => (await atService()) === "", 10_000)).toBe(true);
  });

  if (mode !== "http") return;

  it("a 2025 session's subscription and a listen stream on the same URI share one subscription at the service", async () => {
    const legacy = new LegacyClient({ name: "legacy-listen", version: "0" });
    await legacy.connect(new LegacyHttp(new URL(url!), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    try {
      const stream = await client.listen({ resourceSubscriptions: ["sub://a"] });
      expect(await waitFor(async () => (await atService()) === "sub://a", 10_000)).toBe(true);
      await legacy.subscribeResource({ uri: "sub://a" });
      // The session leaving (an awaited unsubscribe) keeps the stream's subscription at the service.
      await legacy.unsubscribeResource({ uri: "sub://a" });
      expect(await atService()).toBe("sub://a");
      await stream.close();
      expect(await waitFor(async () => (await atService()) === "", 10_000)).toBe(true);
    } finally {
      await legacy.close();
    }
  });
});

describe("a 2026-07-28 client's listen stream on /services/<name>/mcp follows that service's resources", () => {
  let dir: string;
  let far: ChildProcess;
  let proc: ChildProcess;
  let url: string;
  const clients: Array<ModernClient | LegacyClient> = [];
  const headers = { Authorization: `Bearer ${TOKEN}` };

  /** A 2026-07-28 client of one service's own endpoint, and the updates it hears. */
  const own = async (service: string) => {
    const client = new ModernClient({ name: `own-${service}`, version: "0" }, { versionNegotiation: { mode: { pin: MODERN } } });
    const updates: string[] = [];
    client.setNotificationHandler("notifications/resources/updated", (n) => void updates.push(n.params.uri));
    await client.connect(new ModernHttp(new URL(`/services/${service}/mcp`, url), { requestInit: { headers } }));
    expect(client.getProtocolEra()).toBe("modern");
    clients.push(client);
    const call = async (name: string, args: Record<string, unknown> = {}) => text(await client.callTool({ name, arguments: args }));
    return { client, updates, call };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-eras-listen-own-"));
    far = spawn(process.execPath, [LIVE], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const farUrl = (await waitListening(far, "modern-resources")).url;
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ services: { sub: { command: process.execPath, args: [SUBSCRIBE] }, live: { url: farUrl, protocol: MODERN } } }));
    proc = spawn(process.execPath, [CLI, "--state-dir", join(dir, "state"), "--config", config, "--http", "127.0.0.1:0"], { env: cleanEnv({ MCP_HERD_TOKEN: TOKEN }), stdio: ["ignore", "pipe", "pipe"] });
    url = (await waitListening(proc, "mcp-herd")).url;
    const probe = new ModernClient({ name: "probe", version: "0" }, { versionNegotiation: { mode: { pin: MODERN } } });
    await probe.connect(new ModernHttp(new URL(url), { requestInit: { headers } }));
    clients.push(probe);
    expect(await waitFor(async () => (await probe.listTools()).tools.filter((t) => t.name === "sub__touch" || t.name === "live__touch").length === 2, 20_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    if (proc) await stopProc(proc);
    if (far) await stopProc(far);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a 2025 child: subscribed there while a stream names the URI, its updates reach the stream, unsubscribed once the last stream naming it ends", async () => {
    const { client, updates, call } = await own("sub");
    expect(await call("subscribed")).toBe("");
    const a = await client.listen({ resourceSubscriptions: ["sub://a"] });
    expect(await waitFor(async () => (await call("subscribed")) === "sub://a", 10_000)).toBe(true);
    expect(await call("touch", { uri: "sub://a" })).toBe("updated: sub://a");
    expect(await waitFor(() => updates.includes("sub://a"), 10_000)).toBe(true);
    const both = await client.listen({ resourceSubscriptions: ["sub://a", "sub://b"] });
    expect(await waitFor(async () => (await call("subscribed")) === "sub://a\nsub://b", 10_000)).toBe(true);
    await both.close();
    expect(await waitFor(async () => (await call("subscribed")) === "sub://a", 10_000)).toBe(true);
    await a.close();
    expect(await waitFor(async () => (await call("subscribed")) === "", 10_000)).toBe(true);
  });

  it("a stream here and a /mcp session's subscription to the same URI share one subscription at the service", async () => {
    const { client, call } = await own("sub");
    const legacy = new LegacyClient({ name: "legacy-mcp", version: "0" });
    await legacy.connect(new LegacyHttp(new URL(url), { requestInit: { headers } }));
    clients.push(legacy);
    await legacy.subscribeResource({ uri: "sub://a" });
    expect(await call("subscribed")).toBe("sub://a");
    // The stream ending keeps the session's subscription, and the session leaving keeps the stream's.
    const stream = await client.listen({ resourceSubscriptions: ["sub://a"] });
    await stream.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(await call("subscribed")).toBe("sub://a");
    const again = await client.listen({ resourceSubscriptions: ["sub://a"] });
    await legacy.unsubscribeResource({ uri: "sub://a" });
    expect(await call("subscribed")).toBe("sub://a");
    await again.close();
    expect(await waitFor(async () => (await call("subscribed")) === "", 10_000)).toBe(true);
  });

  it("a 2025 session of the same endpoint subscribing and unsubscribing keeps the stream's subscription; its own lasts until it unsubscribes or leaves", async () => {
    const { client, call } = await own("sub");
    const legacy = new LegacyClient({ name: "legacy-own", version: "0" });
    const heard: string[] = [];
    legacy.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void heard.push(n.params.uri));
    await legacy.connect(new LegacyHttp(new URL("/services/sub/mcp", url), { requestInit: { headers } }));
    clients.push(legacy);
    const stream = await client.listen({ resourceSubscriptions: ["sub://a"] });
    expect(await waitFor(async () => (await call("subscribed")) === "sub://a", 10_000)).toBe(true);
    await legacy.subscribeResource({ uri: "sub://a" });
    await legacy.unsubscribeResource({ uri: "sub://a" });
    expect(await call("subscribed")).toBe("sub://a");
    await stream.close();
    expect(await waitFor(async () => (await call("subscribed")) === "", 10_000)).toBe(true);
    // The session's own subscription reaches the service, and its updates the session; leaving releases it.
    await legacy.subscribeResource({ uri: "sub://b" });
    expect(await call("subscribed")).toBe("sub://b");
    expect(await call("touch", { uri: "sub://b" })).toBe("updated: sub://b");
    expect(await waitFor(() => heard.includes("sub://b"), 10_000)).toBe(true);
    await (legacy.transport as LegacyHttp).terminateSession();
    expect(await waitFor(async () => (await call("subscribed")) === "", 10_000)).toBe(true);
  });

  it("a 2026-07-28 url child: the stream here becomes a listen stream there naming the URI, whose updates reach the stream; it ends with the last one here", async () => {
    const { client, updates, call } = await own("live");
    expect(await call("listening")).toBe("");
    const stream = await client.listen({ resourceSubscriptions: ["live://a"] });
    expect(await waitFor(async () => (await call("listening")) === "live://a", 10_000)).toBe(true);
    expect(await call("touch", { uri: "live://a" })).toBe("touched live://a");
    expect(await waitFor(() => updates.includes("live://a"), 10_000)).toBe(true);
    await stream.close();
    expect(await waitFor(async () => (await call("listening")) === "", 10_000)).toBe(true);
  });
});
