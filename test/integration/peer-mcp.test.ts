import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { TransportError, resultText } from "../../src/backends/backend.js";
import { PeerBackend } from "../../src/backends/peer.js";
import { silentLogger } from "../../src/log.js";
import { waitFor } from "../helpers/herd.js";

const TOKEN = "peer-test-token-0123456789";

interface TestPeer {
  url: string;
  initializes: number;
  /** Calls of "slow" the peer saw cancelled by their caller. */
  cancelled: number;
  /** Forgets every session, as a server does when they expire. */
  forgetSessions(): void;
  /** Drops every open connection and stops listening (a peer dying). */
  kill(): Promise<void>;
}

/** What the peer's tools saw: calls of "slow" that ended because the caller cancelled them. */
interface PeerSeen {
  cancelled: number;
}

function buildMcp(seen: PeerSeen): McpServer {
  const mcp = new McpServer({ name: "test-peer", version: "1.0.0" });
  mcp.registerTool("echo", { inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: "text", text: `echo: ${text}` }],
  }));
  mcp.registerTool("slow", { inputSchema: { ms: z.number() } }, async ({ ms }, extra) => {
    // The peer side of cancellation: notifications/cancelled aborts this request's signal.
    await new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      extra.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        seen.cancelled++;
        r();
      });
    });
    return { content: [{ type: "text", text: "done" }] };
  });
  mcp.registerTool("ticking", { inputSchema: { ticks: z.number() } }, async ({ ticks }, extra) => {
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= ticks; i++) {
      await new Promise((r) => setTimeout(r, 150));
      if (token !== undefined) {
        await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: i, total: ticks } });
      }
    }
    return { content: [{ type: "text", text: `ticked ${ticks}` }] };
  });
  mcp.registerTool("broken", { inputSchema: {} }, async () => ({
    content: [{ type: "text", text: "tool failed" }],
    isError: true,
  }));
  return mcp;
}

/** A stateful streamable HTTP MCP server with a bearer token, on 127.0.0.1 port 0. */
async function startPeer(): Promise<TestPeer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const state = { initializes: 0, cancelled: 0 };
  const http: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    const sid = req.headers["mcp-session-id"] as string | undefined;
    let transport = sid ? sessions.get(sid) : undefined;
    if (sid && !transport) {
      res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "Session not found" } }));
      return;
    }
    if (!transport) {
      state.initializes++;
      const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, t),
      });
      await buildMcp(state).connect(t);
      transport = t;
    }
    await transport.handleRequest(req, res, body);
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    get initializes() {
      return state.initializes;
    },
    get cancelled() {
      return state.cancelled;
    },
    forgetSessions: () => sessions.clear(),
    kill: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}

describe("PeerBackend against a streamable HTTP MCP server with sessions", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });
  async function setup(timeoutMs = 3000) {
    const srv = await startPeer();
    const peer = new PeerBackend({ url: srv.url, token: TOKEN, timeoutMs, log: silentLogger });
    cleanups.push(srv.kill, () => peer.close());
    return { srv, peer };
  }

  it("reuses one session across calls", async () => {
    const { srv, peer } = await setup();
    expect(await peer.mode()).toBe("mcp");
    for (let i = 0; i < 3; i++) expect(resultText(await peer.callTool("echo", { text: `n${i}` }))).toBe(`echo: n${i}`);
    expect((await peer.listTools()).map((t) => t.name).sort()).toEqual(["broken", "echo", "slow", "ticking"]);
    expect(srv.initializes).toBe(1);
  });

  it("re-establishes an expired session once and retries the call", async () => {
    const { srv, peer } = await setup();
    expect(resultText(await peer.callTool("echo", { text: "a" }))).toBe("echo: a");
    srv.forgetSessions();
    expect(resultText(await peer.callTool("echo", { text: "b" }))).toBe("echo: b");
    expect(srv.initializes).toBe(2);
  });

  it("a tool's isError passes through; bad arguments are a tool error, not a transport error", async () => {
    const { peer } = await setup();
    const r = await peer.callTool("broken", {});
    expect(r).toMatchObject({ isError: true, content: [{ type: "text", text: "tool failed" }] });
    const bad = await peer.callTool("echo", { text: 42 });
    expect(bad.isError).toBe(true);
  });

  it("progress keeps a long call alive past its idle bound and reaches onProgress", async () => {
    const { peer } = await setup();
    const seen: number[] = [];
    const r = await peer.callTool("ticking", { ticks: 6 }, { timeoutMs: 500, onProgress: (p) => seen.push(p.progress) });
    expect(resultText(r)).toBe("ticked 6");
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("a peer dying mid-call rejects the pending call with a TransportError, long before its timeout", async () => {
    const { srv, peer } = await setup();
    await peer.listTools();
    const started = Date.now();
    const pending = peer.callTool("slow", { ms: 20_000 }, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 300));
    await srv.kill();
    const e = await pending;
    expect(e).toBeInstanceOf(TransportError);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("an aborted call rejects without being called a transport failure, and the cancellation reaches the peer", async () => {
    const { srv, peer } = await setup();
    const ctrl = new AbortController();
    const pending = peer.callTool("slow", { ms: 20_000 }, { signal: ctrl.signal }).catch((e: unknown) => e);
    setTimeout(() => ctrl.abort(new Error("caller gave up")), 200);
    const e = await pending;
    expect(e).not.toBeInstanceOf(TransportError);
    expect((e as Error).message).toMatch(/caller gave up/);
    // The peer's tool saw its own request cancelled (notifications/cancelled), long before its 20 s.
    expect(await waitFor(() => srv.cancelled === 1, 5000)).toBe(true);
    expect(srv.cancelled).toBe(1);
  });
});
