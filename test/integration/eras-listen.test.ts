import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdio } from "@modelcontextprotocol/client/stdio";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as LegacyHttp } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT, cleanEnv, waitFor } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const SUBSCRIBE = join(ROOT, "test", "fixtures", "subscribe-server.mjs");
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
