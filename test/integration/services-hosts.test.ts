import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { startPeerHerd, type PeerProc } from "../helpers/peers.js";
import { stopProc } from "../helpers/proc.js";
import { alive, fixture, NODE, text, until } from "../fixtures/services-helpers.js";

const TOKEN = "peer-token-0123456789abcdef";
const FAST_ENV = { MCP_HERD_PING_INTERVAL_MS: "300", MCP_HERD_PING_TIMEOUT_MS: "1000", MCP_HERD_KILL_GRACE_MS: "500" };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** An mcp-herd in --http --peer mode on a port we choose (so it can come back at the same URL). */
async function startPeer(stateDir: string, port = 0): Promise<PeerProc> {
  const peer = await startPeerHerd({ stateDir, token: TOKEN, port, env: FAST_ENV });
  cleanups.push(() => stopProc(peer.proc));
  return peer;
}

/** A client of the peer itself, to check what really runs there. */
async function peerClient(url: string): Promise<Client> {
  const client = new Client({ name: "peer-check", version: "0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
  cleanups.push(() => client.close().catch(() => undefined));
  return client;
}

async function peerServices(url: string): Promise<{ name: string; status: string; pid: number | null }[]> {
  const c = await peerClient(url);
  const r = await c.callTool({ name: "service_list", arguments: {} });
  await c.close();
  return (r.structuredContent as { services: { name: string; status: string; pid: number | null }[] }).services;
}

async function hub(peerUrl: string, stateDir?: string): Promise<Herd> {
  const dir = tempDir("herd-hub-");
  const config = join(dir, "config.json");
  writeFileSync(config, JSON.stringify({ hosts: [{ name: "b", peer: { url: peerUrl, token: TOKEN } }, { name: "sshonly", ssh: { host: "127.0.0.1", port: 9 } }] }));
  const h = await startHerd({ args: ["--config", config], env: FAST_ENV, ...(stateDir ? { stateDir } : {}) });
  cleanups.push(() => h.close());
  return h;
}

type Listed = { name: string; host: string; status: string; pid: number | null; tool_count: number };
async function hubList(h: Herd): Promise<Listed[]> {
  const r = await h.client.callTool({ name: "service_list", arguments: {} });
  return (r.structuredContent as { services: Listed[] }).services;
}

describe("services on other hosts (a herd of herds)", () => {
  it("loads a service on a peer mcp-herd through the hub, calls it both ways, lists it with its host, survives the peer going away, unloads it there", async () => {
    const peerState = tempDir("herd-peer-");
    let peer = await startPeer(peerState);
    const h = await hub(peer.url);
    const events: { level: string; logger?: string; data: { message: string } }[] = [];
    h.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void events.push(n.params as never));

    const phases: string[] = [];
    const loaded = await h.client.callTool(
      { name: "service_load", arguments: { name: "echo", command: NODE, args: [fixture("echo-server.mjs")], host: "b" } },
      undefined,
      { onprogress: (p) => void phases.push(p.message ?? "") },
    );
    expect(loaded.isError, text(loaded)).toBeFalsy();
    expect(loaded.structuredContent).toMatchObject({ name: "echo", host: "b", status: "running", tool_count: 9 });
    expect(text(loaded)).toMatch(/^service 'echo' on host 'b': running, pid \d+, 9 tool\(s\)/);
    expect(phases).toContain("b: resolving: command");
    expect(phases.some((p) => /^b: running: 9 tool\(s\)$/.test(p))).toBe(true);
    let pid = (loaded.structuredContent as { pid: number }).pid;
    expect(await peerServices(peer.url)).toEqual([expect.objectContaining({ name: "echo", status: "running", pid })]);

    expect(text(await h.client.callTool({ name: "echo__echo", arguments: { message: "via hub" } }))).toBe("via hub");
    const progress: number[] = [];
    const slow = await h.client.callTool(
      { name: "service_call", arguments: { name: "echo", tool: "slow", arguments: { steps: 3, ms: 30 } } },
      undefined,
      { onprogress: (p) => void progress.push(p.progress) },
    );
    expect(text(slow)).toBe("done 3");
    expect(progress).toEqual([1, 2, 3]);
    const add = await h.client.callTool({ name: "echo__add", arguments: { a: 2, b: 3 } });
    expect(add.structuredContent).toEqual({ sum: 5 });
    expect((await hubList(h))[0]).toMatchObject({ name: "echo", host: "b", status: "running", pid });
    const logs = await h.client.callTool({ name: "service_logs", arguments: { name: "echo", lines: 50 } });
    expect(text(logs)).toContain(`echo-server started pid=${pid}`);
    const found = await h.client.callTool({ name: "service_tools", arguments: { query: "adds" } });
    expect(found.structuredContent).toMatchObject({ total: 1, tools: [{ service: "echo", host: "b", tool: "add" }] });

    // Our cancellation reaches the child on the peer.
    const ctrl = new AbortController();
    const cancelled = h.client
      .callTool({ name: "echo__slow", arguments: { steps: 100, ms: 40 } }, undefined, { signal: ctrl.signal })
      .then(() => "answered", (e: Error) => e.message);
    setTimeout(() => ctrl.abort("enough"), 300);
    expect(await cancelled).toMatch(/enough|abort/i);
    const peerLogs = async () => text(await h.client.callTool({ name: "service_logs", arguments: { name: "echo", lines: 50 } }));
    expect(await until(async () => /slow cancelled at step \d+/.test(await peerLogs()), 5_000)).toBe(true);

    // service_restart runs there: a new pid on the peer.
    const restarted = await h.client.callTool({ name: "service_restart", arguments: { name: "echo" } });
    expect(restarted.isError, text(restarted)).toBeFalsy();
    const newPid = (restarted.structuredContent as { pid: number; host: string }).pid;
    expect(restarted.structuredContent).toMatchObject({ host: "b", status: "running", restarts: 1 });
    expect(newPid).not.toBe(pid);
    expect(await until(() => !alive(pid), 5_000)).toBe(true);
    pid = newPid;

    // The peer goes away: the service is kept as unreachable, its proxied tools leave, calls say why.
    await peer.stop();
    expect(await until(() => !alive(pid), 5_000)).toBe(true);
    const down = await h.client.callTool({ name: "service_call", arguments: { name: "echo", tool: "echo", arguments: { message: "x" } } });
    expect(down.isError).toBe(true);
    expect(text(down)).toMatch(/service 'echo' on host 'b' cannot be reached: host 'b' does not answer .*It is kept and answers again when the host is back/s);
    expect(await until(async () => (await hubList(h))[0]?.status === "unreachable", 5_000)).toBe(true);
    expect((await h.client.listTools()).tools.some((t) => t.name.startsWith("echo__"))).toBe(false);
    expect(await until(() => events.some((e) => e.logger === "service:echo" && e.level === "warning" && /^unreachable: host 'b' does not answer/.test(e.data.message)), 5_000)).toBe(true);
    expect(text(await h.client.callTool({ name: "service_list", arguments: {} }))).toMatch(/kept: it answers again when host 'b' is back/);

    // Back at the same URL with its state: it reloads the service itself, and the hub serves it again.
    peer = await startPeer(peerState, peer.port);
    expect(await until(async () => (await hubList(h))[0]?.status === "running", 15_000)).toBe(true);
    expect(await until(async () => (await h.client.listTools()).tools.some((t) => t.name === "echo__echo"), 5_000)).toBe(true);
    expect(text(await h.client.callTool({ name: "echo__echo", arguments: { message: "back" } }))).toBe("back");
    expect(await until(() => events.some((e) => e.logger === "service:echo" && /^host 'b' answers again: (starting|installing|running), \d+ tool\(s\)$/.test(e.data.message)), 5_000)).toBe(true);

    // Back without its state (a new machine): the hub loads the service there again.
    await stopProc(peer.proc);
    peer = await startPeer(tempDir("herd-peer2-"), peer.port);
    expect(await until(async () => (await peerServices(peer.url)).some((s) => s.name === "echo" && s.status === "running"), 15_000)).toBe(true);
    const again = () => h.client.callTool({ name: "service_call", arguments: { name: "echo", tool: "echo", arguments: { message: "again" } } });
    expect(await until(async () => text(await again()) === "again", 10_000)).toBe(true);

    const unloaded = await h.client.callTool({ name: "service_unload", arguments: { name: "echo" } });
    expect(unloaded.structuredContent).toEqual({ name: "echo", unloaded: true });
    expect(await peerServices(peer.url)).toEqual([]);
    expect(await hubList(h)).toEqual([]);
  }, 90_000);

  it("a restarted hub finds its service on the peer again (adopted, not restarted there), also when the peer comes up after it", async () => {
    const peerState = tempDir("herd-peer-");
    let peer = await startPeer(peerState);
    const hubState = tempDir("herd-hub-state-");
    const first = await hub(peer.url, hubState);
    const r = await first.client.callTool({ name: "service_load", arguments: { name: "echo", command: NODE, args: [fixture("echo-server.mjs")], host: "b" } });
    expect(r.isError, text(r)).toBeFalsy();
    const pid = (r.structuredContent as { pid: number }).pid;
    await first.close();
    expect(alive(pid)).toBe(true);
    const second = await hub(peer.url, hubState);
    expect(await until(async () => (await hubList(second))[0]?.status === "running", 10_000)).toBe(true);
    expect((await hubList(second))[0]).toMatchObject({ name: "echo", host: "b", pid });
    expect(text(await second.client.callTool({ name: "service_call", arguments: { name: "echo", tool: "echo", arguments: { message: "adopted" } } }))).toBe("adopted");

    // The hub starts while the peer is down: the service is listed unreachable, and runs once the peer is back.
    await second.close();
    await stopProc(peer.proc);
    const third = await hub(peer.url, hubState);
    expect(await until(async () => (await hubList(third))[0]?.status === "unreachable", 10_000)).toBe(true);
    peer = await startPeer(peerState, peer.port);
    expect(await until(async () => (await hubList(third))[0]?.status === "running", 15_000)).toBe(true);
    expect(text(await third.client.callTool({ name: "service_call", arguments: { name: "echo", tool: "echo", arguments: { message: "late" } } }))).toBe("late");
  });

  it("refuses an unknown host and a host without a peer, running nothing", async () => {
    const peer = await startPeer(tempDir("herd-peer-"));
    const h = await hub(peer.url);
    const unknown = await h.client.callTool({ name: "service_load", arguments: { name: "x", command: NODE, args: [fixture("echo-server.mjs")], host: "nope" } });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/^service_load 'x' failed: unknown host 'nope': known hosts are b, local, sshonly/);
    const noPeer = await h.client.callTool({ name: "service_load", arguments: { name: "x", command: NODE, args: [fixture("echo-server.mjs")], host: "sshonly" } });
    expect(text(noPeer)).toMatch(/host 'sshonly' has no peer URL: a service on another host runs under that host's mcp-herd/);
    expect(await hubList(h)).toEqual([]);
    expect(await peerServices(peer.url)).toEqual([]);
  });
});
