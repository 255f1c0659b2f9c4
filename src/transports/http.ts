import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { App } from "../app.js";
import { isLoopback } from "../config.js";
import { createServer, type ToolCatalog } from "../server.js";
import { EndpointError, serviceEndpoints, serviceOfPath, type SessionTable } from "./service-endpoint.js";
import { FailureThrottle, hostAllowed, originAllowed, matchToken, tokenId, type GuardOptions } from "./guard.js";
import { createRunnerApi } from "./runner-api.js";

interface Session {
  transport: StreamableHTTPServerTransport;
  server: Server;
  caller: string;
  lastSeen: number;
  /** Set for a per-service endpoint session (/services/<name>/mcp); it shares this table, its cap and expiry. */
  service?: string;
}

export interface HttpHandle {
  url: string;
  port: number;
  sessions(): number;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Serves streamable HTTP at /mcp and a health probe at /health, with auth, Host/Origin checks and body caps. */
export async function serveHttp(app: App, catalog: ToolCatalog): Promise<HttpHandle> {
  const cfg = app.config.http;
  // Named tokens first: when the same secret is also MCP_HERD_TOKEN, the caller keeps its name.
  const accepted = [
    ...app.config.tokens.map((t) => ({ id: `token:${t.name}`, token: t.token })),
    ...(app.config.token ? [{ id: tokenId(app.config.token), token: app.config.token }] : []),
  ];
  const token = accepted.length > 0;
  if (!token && !isLoopback(cfg.host)) {
    throw new Error(
      `refusing to listen on ${cfg.host} without a token: anyone who can reach that address could run commands on this machine. ` +
        `Set MCP_HERD_TOKEN (or --token / "token" in the config), or listen on 127.0.0.1.`,
    );
  }
  const guard: GuardOptions = { bindHost: cfg.host, allowedHosts: cfg.allowedHosts, allowedOrigins: cfg.allowedOrigins };
  const sessions = new Map<string, Session>();
  const throttle = new FailureThrottle();
  const log = app.log.child("http");
  const runner = app.config.runnerApi ? createRunnerApi({ services: app.services, readJson: (req) => readJson(req, cfg.maxBodyBytes), audit: app.audit }) : undefined;

  const closeSession = async (id: string) => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    await s.transport.close().catch(() => undefined);
    await s.server.close().catch(() => undefined);
  };
  const admit = async () => {
    if (sessions.size >= cfg.maxSessions) throw new HttpError(503, "Too many open sessions; close one (DELETE /mcp) or retry later.");
  };
  const serveSession = async (s: Session, req: IncomingMessage, res: ServerResponse, body: unknown) => {
    s.lastSeen = Date.now();
    await s.transport.handleRequest(req, res, body);
  };
  const table: SessionTable = {
    get: (id) => sessions.get(id),
    admit,
    add: (id, s) => sessions.set(id, { ...s, lastSeen: Date.now() }),
    remove: (id) => sessions.delete(id),
    close: closeSession,
    serve: serveSession,
    ids: () => sessions.keys(),
  };
  const perService = serviceEndpoints(app, table);

  const sweeper = setInterval(
    () => {
      const cutoff = Date.now() - cfg.sessionIdleSeconds * 1000;
      for (const [id, s] of sessions) {
        if (s.lastSeen < cutoff) {
          log.debug("session expired", { session: id });
          void closeSession(id);
        }
      }
    },
    Math.min(60_000, Math.max(1_000, (cfg.sessionIdleSeconds * 1000) / 4)),
  );
  sweeper.unref();

  const handleMcp = async (req: IncomingMessage, res: ServerResponse, caller: string) => {
    const sid = header(req, "mcp-session-id");
    const body = req.method === "POST" ? await readJson(req, cfg.maxBodyBytes) : undefined;

    if (sid !== undefined) {
      const s = sessions.get(sid);
      if (!s || s.service !== undefined) throw new HttpError(404, "Session not found: it expired, was deleted, or never existed. Initialize a new one.");
      if (s.caller !== caller) throw new HttpError(403, "This session belongs to another credential.");
      await serveSession(s, req, res, body);
      return;
    }
    if (req.method === "POST" && isInitializeRequest(body)) {
      await admit();
      const server = createServer(app, catalog, { caller });
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, server, caller, lastSeen: Date.now() });
          log.debug("session opened", { session: id, caller });
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
          void server.close().catch(() => undefined);
        },
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }
    if (req.method === "POST" && app.config.peer) {
      // lmcp hubs POST bare tools/call requests with no session and `Accept: application/json`.
      await serveStateless(req, res, body, caller);
      return;
    }
    throw new HttpError(400, "Bad Request: Mcp-Session-Id header is required (send initialize first).");
  };

  const serveStateless = async (req: IncomingMessage, res: ServerResponse, body: unknown, caller: string) => {
    req.headers.accept = "application/json, text/event-stream";
    const server = createServer(app, catalog, { caller });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      void transport.close().catch(() => undefined);
      void server.close().catch(() => undefined);
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const http: HttpServer = createHttpServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const address = req.socket.remoteAddress ?? "?";
    void (async () => {
      try {
        if (!hostAllowed(header(req, "host"), guard)) throw new HttpError(403, "Forbidden: Host header not allowed.");
        if (!originAllowed(header(req, "origin"), guard)) throw new HttpError(403, "Forbidden: Origin not allowed.");
        if (path === "/health" && (req.method === "GET" || req.method === "HEAD")) {
          const h = app.health();
          const ours = { ok: true, version: app.version, services: h.services, hosts: h.hosts, sessions: sessions.size };
          // The runner's shape names every service: only for a caller holding the token; probes without one get ours.
          const broker = runner && (!token || matchToken(header(req, "authorization"), accepted) !== undefined);
          sendJson(res, 200, broker ? runner.health(ours) : ours);
          return;
        }
        const service = serviceOfPath(path ?? "");
        if (path !== "/mcp" && service === undefined && !runner?.owns(path)) throw new HttpError(404, "Not found: the MCP endpoint is /mcp (a service as itself: /services/<name>/mcp).");
        let caller = "http";
        if (token) {
          const who = matchToken(header(req, "authorization"), accepted);
          if (who === undefined) {
            const wait = throttle.fail(address);
            if (wait > 0) await delay(wait);
            res.setHeader("WWW-Authenticate", 'Bearer realm="mcp-herd"');
            throw new HttpError(401, "Unauthorized: send Authorization: Bearer <token>.");
          }
          throttle.succeed(address);
          caller = who;
        }
        if (runner && (await runner.handle(req, res, path, caller))) return;
        if (service !== undefined) await perService.handle(req, res, service, caller, () => readJson(req, cfg.maxBodyBytes));
        else await handleMcp(req, res, caller);
      } catch (e) {
        const status = e instanceof HttpError || e instanceof EndpointError ? e.status : 500;
        if (status === 500) log.warn("request failed", { error: (e as Error).message });
        if (status === 413) lingerThenClose(req);
        if (!res.headersSent) {
          const code = status === 400 && (e as Error).message.startsWith("Parse error") ? -32700 : -32000;
          const message = (e as Error).message;
          sendJson(res, status, runner?.owns(path) ? { error: message } : { jsonrpc: "2.0", error: { code, message }, id: null });
        } else res.end();
      }
    })();
  });
  http.headersTimeout = 30_000;
  http.requestTimeout = 0;
  http.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(cfg.port, cfg.host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const shownHost = cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host;
  const url = `http://${shownHost}:${port}/mcp`;
  app.setHttpBase(`http://${shownHost}:${port}`);

  const close = async () => {
    clearInterval(sweeper);
    await Promise.all([...sessions.keys()].map(closeSession));
    perService.close();
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  };
  app.onShutdown(close);
  return { url, port, sessions: () => sessions.size, close };
}

// After a 413 the rest of the body is unread. Discard what keeps coming, within bounds, so the client
// can read the answer (closing at once makes it see ECONNRESET instead); past the bounds, close.
function lingerThenClose(req: IncomingMessage): void {
  if (req.readableEnded) return;
  let discarded = 0;
  const timer = setTimeout(() => req.socket.destroy(), 5_000);
  timer.unref();
  req.on("data", (d: Buffer) => {
    discarded += d.length;
    if (discarded > 64 * 1024 * 1024) req.socket.destroy();
  });
  req.on("end", () => clearTimeout(timer));
  req.resume();
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads a JSON body of at most `max` bytes; 413 beyond it, 400 on bad JSON. */
function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > max) {
    return Promise.reject(new HttpError(413, `Payload too large: the limit is ${max} bytes.`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        over = true;
        chunks.length = 0;
        req.off("data", onData);
        reject(new HttpError(413, `Payload too large: the limit is ${max} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("error", reject);
    req.once("end", () => {
      if (over) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (e) {
        reject(new HttpError(400, `Parse error: ${(e as Error).message}`));
      }
    });
  });
}
