import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp } from "@modelcontextprotocol/client";
import { ResourceUpdatedNotificationSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, CLI, ROOT, cleanEnv, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const SUBSCRIBE = join(ROOT, "test", "fixtures", "subscribe-server.mjs");
const LIVE = join(ROOT, "test", "fixtures", "modern-resources-server.mjs");
const MODERN = "2026-07-28";
const TOKEN = "eras-upstream-res-token-0123456789";

describe("a 2026-07-28 url service's resources: a subscription here is a listen stream there", () => {
  let dir: string;
  let far: ChildProcess;
  let herd: Herd;
  const call = async (name: string, args: Record<string, unknown> = {}) => allText((await herd.client.callTool({ name, arguments: args })) as CallToolResult);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-eras-up-res-"));
    const farConfig = join(dir, "far.json");
    writeFileSync(farConfig, JSON.stringify({ services: { sub: { command: process.execPath, args: [SUBSCRIBE] } } }));
    far = spawn(process.execPath, [CLI, "--state-dir", join(dir, "far-state"), "--config", farConfig, "--http", "127.0.0.1:0"], {
      env: cleanEnv({ MCP_HERD_TOKEN: TOKEN }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = (await waitListening(far, "mcp-herd")).url;
    // The far mcp-herd's aggregated /mcp, spoken to in 2026-07-28: its services' resources come with it.
    const config = join(dir, "near.json");
    writeFileSync(config, JSON.stringify({ services: { far: { url, headers: { Authorization: `Bearer ${TOKEN}` }, protocol: "2026-07-28" } } }));
    herd = await startHerd({ args: ["--config", config] });
    expect(await waitFor(async () => (await herd.client.listTools()).tools.some((t) => t.name === "far__sub__touch"), 30_000)).toBe(true);
    expect(await waitFor(async () => (await herd.client.listResources()).resources.some((r) => r.uri === "sub://a"), 10_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await herd?.close();
    if (far) await stopProc(far);
    rmSync(dir, { recursive: true, force: true });
  });

  it("subscribing here opens a listen stream on the far side, which subscribes at its child; updates come back; unsubscribing closes it", async () => {
    const updated: string[] = [];
    herd.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    expect(await call("far__sub__subscribed")).toBe("");
    await herd.client.subscribeResource({ uri: "sub://a" });
    expect(await waitFor(async () => (await call("far__sub__subscribed")) === "sub://a", 10_000)).toBe(true);
    expect(await call("far__sub__touch", { uri: "sub://a" })).toBe("updated: sub://a");
    expect(await waitFor(() => updated.includes("sub://a"), 10_000)).toBe(true);
    await herd.client.unsubscribeResource({ uri: "sub://a" });
    expect(await waitFor(async () => (await call("far__sub__subscribed")) === "", 10_000)).toBe(true);
  });
});

describe("a 2026-07-28 url service that restarts: mcp-herd's listen streams there are opened again", () => {
  let dir: string;
  let far: ChildProcess | undefined;
  let port: number;
  let proc: ChildProcess;
  let client: ModernClient;
  let direct: ModernClient | undefined;
  const updates: string[] = [];
  let toolsChanged = 0;

  const startFar = async (p = 0) => {
    far = spawn(process.execPath, [LIVE], { env: cleanEnv({ FIXTURE_PORT: String(p) }), stdio: ["ignore", "pipe", "pipe"] });
    return (await waitListening(far, "modern-resources")).url;
  };
  /** The URIs the url service's open listen streams name, asked of it directly (not through the herd). */
  const listening = async () => {
    direct = new ModernClient({ name: "direct", version: "0" }, { versionNegotiation: { mode: { pin: MODERN } } });
    try {
      await direct.connect(new ModernHttp(new URL(`http://127.0.0.1:${port}/mcp`)));
      return allText((await direct.callTool({ name: "listening", arguments: {} })) as CallToolResult);
    } finally {
      await direct.close().catch(() => undefined);
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-eras-reopen-"));
    const farUrl = await startFar();
    port = Number(new URL(farUrl).port);
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ services: { live: { url: farUrl, protocol: MODERN } } }));
    proc = spawn(process.execPath, [CLI, "--state-dir", join(dir, "state"), "--config", config, "--http", "127.0.0.1:0"], { env: cleanEnv({ MCP_HERD_TOKEN: TOKEN }), stdio: ["ignore", "pipe", "pipe"] });
    const url = (await waitListening(proc, "mcp-herd")).url;
    client = new ModernClient({ name: "modern-reopen", version: "0" }, { versionNegotiation: { mode: { pin: MODERN } } });
    client.setNotificationHandler("notifications/resources/updated", (n) => void updates.push(n.params.uri));
    client.setNotificationHandler("notifications/tools/list_changed", () => void toolsChanged++);
    await client.connect(new ModernHttp(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    expect(await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === "live__touch"), 20_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await client?.close().catch(() => undefined);
    if (proc) await stopProc(proc);
    if (far) await stopProc(far);
    rmSync(dir, { recursive: true, force: true });
  });

  it("after the url server is killed and started again on its port, a resource update and a tools list change still reach the client", async () => {
    await client.listen({ resourceSubscriptions: ["live://a"], toolsListChanged: true });
    expect(await waitFor(async () => (await listening()) === "live://a", 10_000)).toBe(true);
    await stopProc(far!, "SIGKILL");
    await startFar(port);
    // Reopened by the herd itself (no call went through it meanwhile): the resource's stream and the list-change one.
    expect(await waitFor(async () => (await listening()) === "live://a", 20_000)).toBe(true);
    expect(allText((await client.callTool({ name: "live__touch", arguments: { uri: "live://a" } })) as CallToolResult)).toBe("touched live://a");
    expect(await waitFor(() => updates.includes("live://a"), 10_000)).toBe(true);
    const before = toolsChanged;
    expect(allText((await client.callTool({ name: "live__add_tool", arguments: { name: "late" } })) as CallToolResult)).toBe("added late");
    expect(await waitFor(async () => (await client.listTools()).tools.some((t) => t.name === "live__late"), 10_000)).toBe(true);
    expect(await waitFor(() => toolsChanged > before, 10_000)).toBe(true);
  }, 60_000);

  it("once the service is unloaded, its streams are not opened again after the server restarts", async () => {
    expect(await waitFor(async () => (await listening()) === "live://a", 10_000)).toBe(true);
    const r = (await client.callTool({ name: "service_unload", arguments: { name: "live" } })) as CallToolResult;
    expect(r.isError, allText(r)).toBeFalsy();
    expect(await waitFor(async () => (await listening()) === "", 10_000)).toBe(true);
    await stopProc(far!, "SIGKILL");
    await startFar(port);
    // Longer than the reopening backoff's first steps: nothing comes back.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await listening()).toBe("");
  }, 60_000);
});

describe("a 2026-07-28 url service whose listen stream never opens (no SSE stream) is still served", () => {
  let dir: string;
  let far: ChildProcess | undefined;
  let herd: Herd | undefined;
  afterAll(async () => {
    await herd?.close();
    if (far) await stopProc(far);
    rmSync(dir, { recursive: true, force: true });
  });

  it("its tools answer within seconds of the load, a warning says its list changes are not followed, and the server keeps serving", async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-eras-up-nolisten-"));
    far = spawn(process.execPath, [LIVE], { env: cleanEnv({ FIXTURE_LISTEN: "json" }), stdio: ["ignore", "pipe", "pipe"] });
    const url = (await waitListening(far, "modern-resources")).url;
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ services: { live: { url, protocol: MODERN } } }));
    const started = Date.now();
    herd = await startHerd({ args: ["--config", config] });
    // The stream is waited for at most 5 s (the handshake bound is 30 s, after which the start failed):
    // a deadline against waiting for it, not a speed claim.
    expect(await waitFor(async () => (await herd!.client.listTools()).tools.some((t) => t.name === "live__touch"), 20_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(25_000);
    const touched = (await herd.client.callTool({ name: "live__touch", arguments: { uri: "live://a" } })) as CallToolResult;
    expect(allText(touched)).toBe("touched live://a");
    expect(herd.stderr()).toMatch(/list-change stream \(subscriptions\/listen\) did not open; serving it without following its list changes/);
    expect(herd.stderr()).toMatch(/not acknowledged within 5000 ms/);
  }, 60_000);
});
