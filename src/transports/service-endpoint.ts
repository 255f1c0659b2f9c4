import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node";
import { CLIENT_CAPABILITIES_META_KEY, isInitializeRequest, ProtocolError, ProtocolErrorCode, Server, type ServerContext, type ServerNotification } from "@modelcontextprotocol/server";
import type { App } from "../app.js";
import type { ModernHop, ServerIdentity } from "../backends/backend.js";
import { RemoteRpcError } from "../backends/mcp/passthrough.js";
import { inputBridge, servesModern, type BridgedContext } from "../server-bridge.js";
import { sessionRelay } from "../server-passthrough.js";
import { isModernRequest, modernEndpoint, type ModernAnswer, type ModernEndpoint } from "./modern.js";

// The requests whose 2026-07-28 form can answer with input_required.
const BRIDGED = new Set(["tools/call", "prompts/get", "resources/read"]);
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

/** A session of the HTTP listener, of either endpoint, as its one session table holds it. */
export interface TableSession {
  transport: NodeStreamableHTTPServerTransport;
  server: Server;
  caller: string;
  lastSeen: number;
  /** The service a per-service endpoint session serves; undefined for a /mcp session. */
  service?: string;
}

/** The listener's one session table (http.ts): its cap, idle expiry and eviction cover every session, of /mcp and of the services. */
export interface SessionTable {
  get(id: string): TableSession | undefined;
  /** Makes room for one more session or throws the refusal. */
  admit(): Promise<void>;
  add(id: string, session: Omit<TableSession, "lastSeen">): void;
  remove(id: string): void;
  close(id: string): Promise<void>;
  /** Serves one request of a known session (what every session's request goes through). */
  serve(session: TableSession, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void>;
  ids(): Iterable<string>;
}

/** The GET streams a session has open: the service's requests outside a call can only go there. */
interface Streams {
  open: number;
  onFirst(): void;
}

/** Per-service endpoints: each session is one service served as itself, every message forwarded both ways. */
export interface ServiceEndpoints {
  /** Serves one request to /services/<service>/mcp (already past the Host/Origin and token guards). */
  handle(req: IncomingMessage, res: ServerResponse, service: string, caller: string, readBody: () => Promise<unknown>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Resource subscriptions at a service, counted with every other follower of the URI there (the /mcp sessions',
 * the listen streams'): the first subscribes at the service, the last unsubscribes.
 */
export interface ServiceSubscriptions {
  /** Holds the URIs a 2026-07-28 listen stream names; the release runs when the stream ends. */
  follow(service: string, uris: string[]): () => void;
  /** One 2025 session's resources/subscribe and unsubscribe. */
  hold(service: string, uri: string): Promise<void>;
  unhold(service: string, uri: string): Promise<void>;
}

/** The per-service endpoints of one HTTP listener; their sessions live in the listener's session table. */
export function serviceEndpoints(app: App, table: SessionTable, maxBodyBytes: number, subscriptions?: ServiceSubscriptions): ServiceEndpoints {
  const log = app.log.child("service-endpoint");
  const streams = new WeakMap<Server, Streams>();
  // Each service's 2026-07-28 side, made at its first modern request, dropped when the service is unloaded.
  const modern = new Map<string, { endpoint: ModernEndpoint; stop(): void }>();
  const modernOf = (service: string) => {
    let m = modern.get(service);
    if (!m) {
      const endpoint = modernEndpoint((caller, answer) => serveAsItself(app, service, runningIdentity(app, service), caller, { open: 0, onFirst: () => undefined }, false, undefined, answer), {
        maxBodyBytes,
        log,
        ...(subscriptions ? { follow: (uris: string[]) => subscriptions.follow(service, uris) } : {}),
      });
      m = { endpoint, stop: watchService(app, service, endpoint) };
      modern.set(service, m);
    }
    return m.endpoint;
  };
  const dropModern = (service: string) => {
    const m = modern.get(service);
    if (!m) return Promise.resolve();
    modern.delete(service);
    m.stop();
    return m.endpoint.close();
  };

  // An unloaded service's sessions end with it: their open GET streams close, their next request is a 404 naming it.
  const offChange = app.services.onChange(() => {
    for (const service of [...modern.keys()]) if (!app.services.get(service)) void dropModern(service);
    for (const id of [...table.ids()]) {
      const s = table.get(id);
      if (s?.service === undefined || app.services.get(s.service)) continue;
      log.debug("session closed: its service was unloaded", { session: id, service: s.service });
      void table.close(id);
    }
  });

  return {
    async handle(req, res, service, caller, readBody) {
      const sid = headerOf(req, "mcp-session-id");
      const body = req.method === "POST" ? await readBody() : undefined;
      if (sid !== undefined) {
        const s = table.get(sid);
        if (!s || s.service !== service) {
          if (!app.services.get(service)) {
            throw new EndpointError(404, `Session not found: service '${service}' is not loaded (it was unloaded, and its sessions were closed). Load it again, then initialize a new session.`);
          }
          throw new EndpointError(404, "Session not found: it expired, was deleted, or never existed. Initialize a new one.");
        }
        if (s.caller !== caller) throw new EndpointError(403, "This session belongs to another credential.");
        const open = streams.get(s.server);
        if (req.method === "GET" && open) {
          if (open.open++ === 0) open.onFirst();
          res.once("close", () => void open.open--);
        }
        await table.serve(s, req, res, body);
        return;
      }
      if (req.method === "POST" && isModernRequest(req, body)) {
        runningIdentity(app, service);
        await modernOf(service).serve(req, res, body, caller);
        return;
      }
      if (req.method !== "POST" || !isInitializeRequest(body)) {
        throw new EndpointError(400, "Bad Request: Mcp-Session-Id header is required (send initialize first).");
      }
      const id = runningIdentity(app, service);
      await table.admit();
      const open: Streams = { open: 0, onFirst: () => undefined };
      const server = serveAsItself(app, service, id, caller, open, true, subscriptions);
      streams.set(server, open);
      const transport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          table.add(id, { service, caller, transport, server });
          log.debug("session opened", { session: id, service, caller });
        },
        onsessionclosed: (id) => {
          table.remove(id);
          void server.close().catch(() => undefined);
        },
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    },
    async close() {
      offChange();
      await Promise.all([...modern.keys()].map(dropModern));
    },
  };
}

// The identity a new session of the service is served with, or the refusal saying why there is none.
function runningIdentity(app: App, service: string): ServerIdentity {
  const svc = app.services.get(service);
  if (!svc) throw new EndpointError(404, `Not found: no service named '${service}' is loaded (service_list shows the services).`);
  const id = svc.identity?.();
  if (!id || !svc.request) {
    const why = svc.state === "running" ? "it is connecting to its server again" : `it is not running: ${svc.info().error ?? svc.state}`;
    throw new EndpointError(503, svc.request ? `Service '${service}': ${why}. Retry in a moment.` : `Service '${service}' runs on host '${svc.host}': reach it at that host's endpoint.`);
  }
  return id;
}

// A modern endpoint hears what a session would: the service's list changes and resource updates, and its restarts.
function watchService(app: App, service: string, endpoint: ModernEndpoint): () => void {
  const { notify } = endpoint;
  const off = app.relay.onNotification((from, method, params) => {
    if (from !== service) return;
    if (method === "notifications/tools/list_changed") notify.toolsChanged();
    else if (method === "notifications/prompts/list_changed") notify.promptsChanged();
    else if (method === "notifications/resources/list_changed") notify.resourcesChanged();
    else if (method === "notifications/resources/updated" && typeof params?.uri === "string") notify.resourceUpdated(params.uri);
  });
  const offRestart = onRestart(app, service, (toolsChanged) => {
    if (toolsChanged) notify.toolsChanged();
    notify.promptsChanged();
    notify.resourcesChanged();
  });
  return () => {
    off();
    offRestart();
  };
}

/**
 * One session's Server: the service's own identity; every request and notification goes to the service.
 * With `pushes` false (one 2026-07-28 request) it sends nothing on its own: watchService tells those clients.
 */
function serveAsItself(app: App, service: string, id: ServerIdentity, caller: string, streams: Streams, pushes = true, subscriptions?: ServiceSubscriptions, answer?: ModernAnswer): Server {
  const server = new Server(id.serverInfo, { capabilities: id.capabilities, ...(id.instructions ? { instructions: id.instructions } : {}) });
  const relay = sessionRelay(app, server, caller, { logging: Boolean(id.capabilities.logging), reachable: () => streams.open > 0 });
  // This session's subscriptions, counted with the service's other followers of each URI (released when the session ends).
  const subscribed = new Set<string>();
  const counted = subscriptions && (id.capabilities.resources as { subscribe?: boolean } | undefined)?.subscribe ? subscriptions : undefined;

  server.fallbackRequestHandler = async (request, ctx) => {
    const now = app.services.get(service);
    if (!now?.request) throw new RemoteRpcError(ProtocolErrorCode.InternalError, `service '${service}' is no longer loaded`);
    const token = (request.params?._meta as { progressToken?: string | number } | undefined)?.progressToken;
    const params = request.params as Record<string, unknown> | undefined;
    const call: BridgedContext = {
      signal: ctx.mcpReq.signal,
      caller,
      wantsProgress: token !== undefined,
      client: relay.linkFor(ctx),
      progress: (p) => {
        if (token !== undefined) void ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken: token, ...p } }).catch(() => undefined);
      },
    };
    // A 2026-07-28 caller and a 2026-07-28 service: the hop is transparent (the caller's capabilities, the
    // service's own input_required rounds and the caller's retries pass as they came).
    const hop = servesModern(server) && now.era?.() === "modern" ? hopOf(ctx) : undefined;
    const send = (c: BridgedContext) =>
      now.request!(request.method, params, { signal: c.signal, client: c.client, ...(hop ? { hop } : {}), ...(c.wantsProgress ? { onProgress: (p) => c.progress(p) } : {}) });
    try {
      const uri = params?.uri;
      if (counted && typeof uri === "string" && (request.method === "resources/subscribe" || request.method === "resources/unsubscribe")) {
        // A 2025 session's unsubscribe must not end a subscription another follower of the URI still holds.
        if (request.method === "resources/subscribe" && !subscribed.has(uri)) {
          await counted.hold(service, uri);
          subscribed.add(uri);
        } else if (request.method === "resources/unsubscribe" && subscribed.delete(uri)) await counted.unhold(service, uri);
        return {} as never;
      }
      // A 2026-07-28 request gets no pushed requests: the service's requests become its input_required rounds.
      if (BRIDGED.has(request.method) && servesModern(server) && !hop) {
        const { _meta: _m, ...args } = params ?? {};
        return (await inputBridge(app).open(caller, `${service}/${request.method}`, args, call, ctx, send).step()) as never;
      }
      return (await send(call)) as never;
    } catch (e) {
      // The service does not know the method: a 2026-07-28 client is told so with the 404 the spec gives it.
      if (answer && (e instanceof RemoteRpcError || e instanceof ProtocolError) && e.code === ProtocolErrorCode.MethodNotFound) answer.methodNotFound = true;
      if (e instanceof RemoteRpcError || e instanceof ProtocolError) throw e;
      // The wire message carries no "MCP error N:" prefix: the client adds its own.
      throw new RemoteRpcError(ProtocolErrorCode.InternalError, (e as Error).message ?? String(e));
    }
  };
  server.fallbackNotificationHandler = async (n) => {
    await app.relay.hub(service)?.notifyService(n.method, n.params as Record<string, unknown> | undefined);
  };
  if (!pushes) {
    server.onclose = () => relay.close();
    return server;
  }
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
  const offRestart = onRestart(app, service, (toolsChanged) => {
    if (!server.transport) return;
    // A restarted service forgot nothing it would tell: its lists may differ from the last run's.
    if (toolsChanged) server.sendToolListChanged().catch(() => undefined);
    server.sendPromptListChanged().catch(() => undefined);
    server.sendResourceListChanged().catch(() => undefined);
  });
  server.onclose = () => {
    off();
    offRestart();
    relay.close();
    for (const uri of subscribed) void counted?.unhold(service, uri);
    subscribed.clear();
  };
  return server;
}

/** The caller's envelope capabilities and retry fields of one 2026-07-28 request (the SDK lifted them off its params). */
function hopOf(ctx: ServerContext): ModernHop {
  const capabilities = (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as Record<string, unknown> | undefined;
  const state = ctx.mcpReq.requestState();
  return {
    ...(capabilities ? { capabilities } : {}),
    ...(ctx.mcpReq.inputResponses !== undefined ? { inputResponses: ctx.mcpReq.inputResponses as Record<string, unknown> } : {}),
    ...(typeof state === "string" ? { requestState: state } : {}),
  };
}

// Calls back each time the service runs again after it was not running (a restart), saying whether its tools differ.
function onRestart(app: App, service: string, changed: (toolsChanged: boolean) => void): () => void {
  const now = () => app.services.get(service);
  let running = now()?.state === "running";
  let tools = JSON.stringify(now()?.tools ?? []);
  return app.services.onChange(() => {
    const svc = now();
    const up = svc?.state === "running";
    if (up && !running) {
      const next = JSON.stringify(svc.tools);
      changed(next !== tools);
      tools = next;
    }
    running = up;
  });
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
