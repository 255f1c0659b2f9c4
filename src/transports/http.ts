import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node";
import { isInitializeRequest, type Server } from "@modelcontextprotocol/server";
import type { App } from "../app.js";
import { isLoopback } from "../config.js";
import { followResources, followServiceResources } from "../resources.js";
import { createServer, watchLists, type ToolCatalog } from "../server.js";
import { EndpointError, serviceEndpoints, serviceOfPath, type SessionTable } from "./service-endpoint.js";
import { FailureThrottle, hostAllowed, originAllowed, matchToken, tokenId, type GuardOptions } from "./guard.js";
import { isModernRequest, modernEndpoint } from "./modern.js";
import { createRunnerApi } from "./runner-api.js";

interface Session {
  transport: NodeStreamableHTTPServerTransport;
  server: Server;
  caller: string;
  lastSeen: number;
  /** Requests of this session still open (a call running, a listen-only SSE stream): it is in use, not idle. */
  open: number;
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
  const runner = app.config.runnerApi ? createRunnerApi({ services: app.services, readJson: (req) => readJson(req, cfg.maxBodyBytes, cfg.bodyTimeoutSeconds * 1000), audit: app.audit }) : undefined;

  const closeSession = async (id: string) => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    await s.transport.close().catch(() => undefined);
    await s.server.close().catch(() => undefined);
  };
  const admit = async () => {
    if (sessions.size >= cfg.maxSessions) await evictIdlest();
  };
  const serveSession = async (s: Session, req: IncomingMessage, res: ServerResponse, body: unknown) => {
    s.lastSeen = Date.now();
    s.open++;
    const calls = requestIds(body);
    res.once("close", () => {
      s.open--;
      s.lastSeen = Date.now();
      // We keep no event store, so an answer whose stream is gone can never be delivered: cancel its call,
      // through the SDK's own cancellation (the handler's signal aborts, the command's tree is stopped).
      if (res.writableFinished) return;
      for (const requestId of calls) {
        s.transport.onmessage?.({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId, reason: "the client disconnected before the answer" } });
      }
    });
    await s.transport.handleRequest(req, res, body);
  };
  const table: SessionTable = {
    get: (id) => sessions.get(id),
    admit,
    add: (id, s) => sessions.set(id, { ...s, lastSeen: Date.now(), open: 0 }),
    remove: (id) => sessions.delete(id),
    close: closeSession,
    serve: serveSession,
    ids: () => sessions.keys(),
  };
  const perService = serviceEndpoints(app, table, cfg.maxBodyBytes, {
    follow: (service, uris) => followServiceResources(catalog.content, service, uris, (uri, e) => log.debug("a listen stream's resource cannot be followed", { service, uri, error: e.message })),
    hold: (service, uri) => catalog.content.hold(service, uri),
    unhold: (service, uri) => catalog.content.unhold(service, uri),
  });
  // 2026-07-28 clients: no sessions, one server per request, list changes on their listen streams.
  const modern = modernEndpoint((caller) => createServer(app, catalog, { caller, pushes: false }), {
    maxBodyBytes: cfg.maxBodyBytes,
    log,
    follow: (uris) => followResources(catalog.content, uris, (uri, e) => log.debug("a listen stream's resource cannot be followed", { uri, error: e.message })),
  });
  const offLists = watchLists(app, catalog, {
    tools: () => modern.notify.toolsChanged(),
    resources: () => modern.notify.resourcesChanged(),
    prompts: () => modern.notify.promptsChanged(),
    updated: (uri) => modern.notify.resourceUpdated(uri),
  });

  // At the cap a new client is not turned away for up to sessionIdleSeconds: the least recently used
  // session with nothing open makes room (its client gets 404 and can initialize again).
  const evictIdlest = async () => {
    let idlest: [string, Session] | undefined;
    for (const entry of sessions) if (entry[1].open === 0 && (!idlest || entry[1].lastSeen < idlest[1].lastSeen)) idlest = entry;
    if (!idlest) throw new HttpError(503, `Too many open sessions: all ${sessions.size} are in use; close one (DELETE /mcp) or retry later.`);
    log.info("session evicted to make room (session cap reached)", { session: idlest[0], idle_s: Math.round((Date.now() - idlest[1].lastSeen) / 1000) });
    await closeSession(idlest[0]);
  };

  const sweeper = setInterval(
    () => {
      const cutoff = Date.now() - cfg.sessionIdleSeconds * 1000;
      for (const [id, s] of sessions) {
        if (s.open > 0) s.lastSeen = Date.now();
        else if (s.lastSeen < cutoff) {
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
    const body = req.method === "POST" ? await readJson(req, cfg.maxBodyBytes, cfg.bodyTimeoutSeconds * 1000) : undefined;

    if (sid !== undefined) {
      const s = sessions.get(sid);
      if (!s || s.service !== undefined) throw new HttpError(404, "Session not found: it expired, was deleted, or never existed. Initialize a new one.");
      if (s.caller !== caller) throw new HttpError(403, "This session belongs to another credential.");
      await serveSession(s, req, res, body);
      return;
    }
    if (req.method === "POST" && isModernRequest(req, body)) {
      await modern.serve(req, res, body, caller);
      return;
    }
    if (req.method === "POST" && isInitializeRequest(body)) {
      await admit();
      const server = createServer(app, catalog, { caller });
      const transport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, server, caller, lastSeen: Date.now(), open: 0 });
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
    const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
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
        if (service !== undefined) await perService.handle(req, res, service, caller, () => readJson(req, cfg.maxBodyBytes, cfg.bodyTimeoutSeconds * 1000));
        else await handleMcp(req, res, caller);
      } catch (e) {
        const status = e instanceof HttpError || e instanceof EndpointError ? e.status : 500;
        if (status === 500) log.warn("request failed", { error: (e as Error).message });
        closeAfterRefusal(req, res);
        if (!res.headersSent) {
          const code = status === 400 && (e as Error).message.startsWith("Parse error") ? -32700 : -32000;
          const message = (e as Error).message;
          res.setHeader("connection", "close");
          sendJson(res, status, runner?.owns(path) ? { error: message } : { jsonrpc: "2.0", error: { code, message }, id: null });
        } else res.end();
      }
    })();
  });
  // A session with an SSE stream open is never idle; keepalive probes find a peer that vanished without a FIN.
  http.on("connection", (socket: Socket) => socket.setKeepAlive(true, 30_000));
  http.headersTimeout = 30_000;
  // A backstop for requests our own body deadline does not see (node checks it every 30 s).
  http.requestTimeout = http.headersTimeout + cfg.bodyTimeoutSeconds * 1000;
  // An idle keep-alive connection is closed after 25 s (below headersTimeout). Node's 5 s made a client
  // whose event loop lagged by a second or more (a loaded machine) send its next request on a socket we
  // were closing that moment: "other side closed" / ECONNRESET for a POST, which no client retries.
  http.keepAliveTimeout = 25_000;

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
    offLists();
    await Promise.all([modern.close(), perService.close()]);
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
  };
  app.onShutdown(close);
  return { url, port, sessions: () => sessions.size, close };
}

/** How long a refused connection may keep sending (read and dropped) before it is closed. */
const LINGER_MS = 1_000;
/** How much of a refused body is read and dropped before the connection is closed at once. */
const LINGER_BYTES = 8 * 1024 * 1024;

// After a refusal the rest of the body is unread, and the connection must end even if the client keeps
// sending. Closing at once while bytes arrive makes the kernel reset the connection, and the client may
// never read the answer; so: answer with Connection: close, half-close (FIN) instead of node's immediate
// destroy, drop what keeps coming for a moment, then destroy. A refused connection never stays open.
function closeAfterRefusal(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  if (req.complete) return;
  let dropped = 0;
  const destroy = () => socket.destroy();
  const timer = setTimeout(destroy, LINGER_MS + 2_000);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  (socket as { destroySoon?: () => void }).destroySoon = () => {
    socket.end();
    setTimeout(destroy, LINGER_MS).unref();
  };
  req.on("data", (d: Buffer) => {
    dropped += d.length;
    if (dropped > LINGER_BYTES) destroy();
  });
  req.once("end", () => res.writableFinished && destroy());
  req.resume();
}

/** The ids of the requests (not notifications or responses) in a POST body, single or batch. */
function requestIds(body: unknown): Array<string | number> {
  const ids: Array<string | number> = [];
  for (const m of Array.isArray(body) ? body : [body]) {
    const msg = m as { id?: unknown; method?: unknown } | null;
    if (msg && typeof msg.method === "string" && (typeof msg.id === "string" || typeof msg.id === "number")) ids.push(msg.id);
  }
  return ids;
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

/** Reads a JSON body of at most `max` bytes within `deadlineMs`; 413 beyond the size, 408 past the deadline, 400 on bad JSON. */
function readJson(req: IncomingMessage, max: number, deadlineMs: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > max) {
    return Promise.reject(new HttpError(413, `Payload too large: the limit is ${max} bytes.`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const stop = (e: HttpError) => {
      over = true;
      chunks.length = 0;
      clearTimeout(timer);
      req.off("data", onData);
      reject(e);
    };
    const timer = setTimeout(
      () => stop(new HttpError(408, `Request Timeout: the body did not arrive within ${deadlineMs / 1000} s of the headers; the connection is closed.`)),
      deadlineMs,
    );
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) return stop(new HttpError(413, `Payload too large: the limit is ${max} bytes.`));
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.once("end", () => {
      clearTimeout(timer);
      if (over) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (e) {
        reject(new HttpError(400, `Parse error: ${(e as Error).message}`));
      }
    });
  });
}
