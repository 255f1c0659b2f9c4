import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { ErrorCode, McpError, isInitializeRequest, type ServerNotification } from "@modelcontextprotocol/sdk/types.js";
import type { App } from "../app.js";
import { RemoteRpcError } from "../backends/passthrough.js";
import { sessionRelay } from "../server-passthrough.js";

const PATH = /^\/services\/([a-z0-9][a-z0-9_-]{0,62})\/mcp$/;

/** The service name of a per-service endpoint path (/services/<name>/mcp), or undefined. */
export function serviceOfPath(path: string): string | undefined {
  return PATH.exec(path)?.[1];
}

/** An HTTP failure the caller turns into a status and a JSON-RPC error body. */
export class EndpointError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Session {
  service: string;
  caller: string;
  transport: StreamableHTTPServerTransport;
  server: Server;
  lastSeen: number;
  /** The session's open GET streams: the service's requests outside a call can only go there. */
  streams: { open: number; onFirst(): void };
}

/** Per-service endpoints: each session is one service served as itself, every message forwarded both ways. */
export interface ServiceEndpoints {
  /** Serves one request to /services/<service>/mcp (already past the Host/Origin and token guards). */
  handle(req: IncomingMessage, res: ServerResponse, service: string, caller: string, readBody: () => Promise<unknown>): Promise<void>;
  sessions(): number;
  close(): Promise<void>;
}

/** The per-service endpoints of one HTTP listener, with their own session map and idle expiry. */
export function serviceEndpoints(app: App): ServiceEndpoints {
  const cfg = app.config.http;
  const sessions = new Map<string, Session>();
  const log = app.log.child("service-endpoint");

  const closeSession = async (id: string) => {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    await s.transport.close().catch(() => undefined);
    await s.server.close().catch(() => undefined);
  };
  const sweeper = setInterval(
    () => {
      const cutoff = Date.now() - cfg.sessionIdleSeconds * 1000;
      for (const [id, s] of sessions) if (s.lastSeen < cutoff) void closeSession(id);
    },
    Math.min(60_000, Math.max(1_000, (cfg.sessionIdleSeconds * 1000) / 4)),
  );
  sweeper.unref();

  return {
    async handle(req, res, service, caller, readBody) {
      const sid = headerOf(req, "mcp-session-id");
      const body = req.method === "POST" ? await readBody() : undefined;
      if (sid !== undefined) {
        const s = sessions.get(sid);
        if (!s || s.service !== service) throw new EndpointError(404, "Session not found: it expired, was deleted, or never existed. Initialize a new one.");
        if (s.caller !== caller) throw new EndpointError(403, "This session belongs to another credential.");
        s.lastSeen = Date.now();
        if (req.method === "GET") {
          if (s.streams.open++ === 0) s.streams.onFirst();
          res.once("close", () => void s.streams.open--);
        }
        await s.transport.handleRequest(req, res, body);
        return;
      }
      if (req.method !== "POST" || !isInitializeRequest(body)) {
        throw new EndpointError(400, "Bad Request: Mcp-Session-Id header is required (send initialize first).");
      }
      if (sessions.size >= cfg.maxSessions) throw new EndpointError(503, "Too many open sessions; close one (DELETE) or retry later.");
      const streams = { open: 0, onFirst: () => undefined as void };
      const server = serveAsItself(app, service, caller, streams);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { service, caller, transport, server, lastSeen: Date.now(), streams });
          log.debug("session opened", { session: id, service, caller });
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
          void server.close().catch(() => undefined);
        },
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    },
    sessions: () => sessions.size,
    async close() {
      clearInterval(sweeper);
      await Promise.all([...sessions.keys()].map(closeSession));
    },
  };
}

/** One session's Server: the service's own identity; every request and notification goes to the service. */
function serveAsItself(app: App, service: string, caller: string, streams: Session["streams"]): Server {
  const svc = app.services.get(service);
  if (!svc) throw new EndpointError(404, `Not found: no service named '${service}' is loaded (service_list shows the services).`);
  const id = svc.identity?.();
  if (!id || !svc.request) {
    throw new EndpointError(503, svc.request ? `Service '${service}' is not running: ${svc.info().error ?? svc.state}. Retry once it runs.` : `Service '${service}' runs on host '${svc.host}': reach it at that host's endpoint.`);
  }
  const server = new Server(id.serverInfo, { capabilities: id.capabilities, ...(id.instructions ? { instructions: id.instructions } : {}) });
  const relay = sessionRelay(app, server, caller, { logging: Boolean(id.capabilities.logging), reachable: () => streams.open > 0 });

  server.fallbackRequestHandler = async (request, extra) => {
    const now = app.services.get(service);
    if (!now?.request) throw new RemoteRpcError(ErrorCode.InternalError, `service '${service}' is no longer loaded`);
    const token = (request.params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
    try {
      return (await now.request(request.method, request.params as Record<string, unknown> | undefined, {
        signal: extra.signal,
        client: relay.linkFor(extra),
        ...(token !== undefined
          ? { onProgress: (p) => void extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, ...p } }).catch(() => undefined) }
          : {}),
      })) as never;
    } catch (e) {
      if (e instanceof RemoteRpcError || e instanceof McpError) throw e;
      // The wire message carries no "MCP error N:" prefix: the client adds its own.
      throw new RemoteRpcError(ErrorCode.InternalError, (e as Error).message ?? String(e));
    }
  };
  server.fallbackNotificationHandler = async (n) => {
    await app.relay.hub(service)?.notifyService(n.method, n.params as Record<string, unknown> | undefined);
  };
  // Once the client can hear requests outside a call, the service may ask it (a roots-based server re-reads the roots).
  streams.onFirst = () => app.relay.hub(service)?.touch(relay.idle);
  const off = app.relay.onNotification((from, method, params) => {
    if (from !== service || !server.transport) return;
    if (method === "notifications/message") {
      if (params) relay.sendLog(params as { level: string; data: unknown });
      return;
    }
    server.notification({ method, params } as ServerNotification).catch(() => undefined);
  });
  server.onclose = () => {
    off();
    relay.close();
  };
  return server;
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
