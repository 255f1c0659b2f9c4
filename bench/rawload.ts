import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";

/** Sessions opened once and driven round after round (see openLoad). */
export interface Load {
  /** `total` tools/call spread over every session, as fast as they answer. */
  run(total: number): Promise<{ rate: number; p99: number; errors: number }>;
  close(): Promise<void>;
}

/**
 * A light load generator: plain keep-alive HTTP POSTs of JSON-RPC with one MCP session per simulated
 * client, so the figure measures the server rather than the SDK client's own per-call cost. The
 * sessions are opened once, so servers that start a child per session pay for it once, not per round.
 */
export async function openLoad(url: string, opts: { clients: number; tool: string; headers?: Record<string, string>; era?: "legacy" | "modern" }): Promise<Load> {
  if (opts.era === "modern") return openModernLoad(url, opts);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.clients });
  const base = { "content-type": "application/json", accept: "application/json, text/event-stream", ...(opts.headers ?? {}) };
  const post = (body: unknown, headers: Record<string, string>) =>
    new Promise<{ status: number; sid?: string; text: string }>((resolve, reject) => {
      const req = request(url, { method: "POST", agent, headers: { ...base, ...headers } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, sid: res.headers["mcp-session-id"] as string | undefined, text }));
      });
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });
  const sessions: string[] = [];
  for (let i = 0; i < opts.clients; i++) {
    const init = await post(
      { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "rawload", version: "0" } } },
      {},
    );
    if (!init.sid) throw new Error(`initialize failed: ${init.status} ${init.text.slice(0, 200)}`);
    await post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": init.sid });
    sessions.push(init.sid);
  }
  const lanes = sessions.map((sid) => ({ "mcp-session-id": sid, "mcp-protocol-version": "2025-06-18" }));
  return {
    run: (total) => drive(total, lanes.length, (lane, n) => post({ jsonrpc: "2.0", id: n, method: "tools/call", params: { name: opts.tool, arguments: { message: `m${n}` } } }, lanes[lane]!)),
    async close() {
      await Promise.all(
        sessions.map(
          (sid) =>
            new Promise<void>((resolve) => {
              const req = request(url, { method: "DELETE", agent, headers: { ...base, "mcp-session-id": sid } }, (res) => {
                res.resume();
                res.on("end", () => resolve());
              });
              req.on("error", () => resolve());
              req.end();
            }),
        ),
      );
      agent.destroy();
    },
  };
}

// The envelope a 2026-07-28 client puts on every request (as the v2 SDK client sends it), and its headers.
const MODERN = "2026-07-28";
const MODERN_META = {
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientInfo": { name: "rawload", version: "0" },
  "io.modelcontextprotocol/clientCapabilities": {},
};

/** The same load in the 2026-07-28 era: no sessions, `clients` connections each sending one request after another. */
function openModernLoad(url: string, opts: { clients: number; tool: string; headers?: Record<string, string> }): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.clients });
  const headers = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": MODERN,
    "mcp-method": "tools/call",
    "mcp-name": opts.tool,
    ...(opts.headers ?? {}),
  };
  const post = (body: unknown) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(url, { method: "POST", agent, headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.end(JSON.stringify(body));
    });
  return {
    run: (total) =>
      drive(total, opts.clients, (_lane, n) => post({ jsonrpc: "2.0", id: n, method: "tools/call", params: { name: opts.tool, arguments: { message: `m${n}` }, _meta: MODERN_META } })),
    close() {
      agent.destroy();
      return Promise.resolve();
    },
  };
}

let lastId = 0;

/** `total` echo calls over `lanes` lanes at once, each lane one call after another; an answer that is not 200 or lacks its echo is an error. */
async function drive(total: number, lanes: number, call: (lane: number, n: number) => Promise<{ status: number; text: string }>): Promise<{ rate: number; p99: number; errors: number }> {
  let sent = 0;
  let errors = 0;
  const lat: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      while (sent < total) {
        sent++;
        const n = ++lastId;
        const s = performance.now();
        const r = await call(lane, n);
        lat.push(performance.now() - s);
        if (r.status !== 200 || !r.text.includes(`"m${n}"`)) errors++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  return { rate: total / secs, p99: lat[Math.floor(lat.length * 0.99)]!, errors };
}
