import type { IncomingMessage, ServerResponse } from "node:http";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { classifyInboundRequest, createMcpHandler, type Server, type ServerNotifier } from "@modelcontextprotocol/server";
import type { Logger } from "../log.js";

/** The 2026-07-28 side of one HTTP endpoint: stateless, one server instance per request, list changes on listen streams. */
export interface ModernEndpoint {
  /** Serves one modern request (already past our Host/Origin, token and body guards; `body` is the parsed JSON). */
  serve(req: IncomingMessage, res: ServerResponse, body: unknown, caller: string): Promise<void>;
  /** Publishes list changes and resource updates to the open subscriptions/listen streams. */
  readonly notify: ServerNotifier;
  close(): Promise<void>;
}

/**
 * Whether a POST without a session belongs to the modern era: a request carrying the 2026-07-28 envelope
 * (or claiming it in MCP-Protocol-Version), as the SDK classifies it. 2025 traffic and bodies that are no
 * JSON-RPC at all stay with the legacy side, which answers them as it always did.
 */
export function isModernRequest(req: IncomingMessage, body: unknown): boolean {
  const route = classifyInboundRequest({
    httpMethod: req.method ?? "POST",
    protocolVersionHeader: one(req.headers["mcp-protocol-version"]),
    mcpMethodHeader: one(req.headers["mcp-method"]),
    mcpNameHeader: one(req.headers["mcp-name"]),
    body,
  });
  return route.kind === "modern" || (route.kind === "reject" && route.rung !== "jsonrpc-shape" && route.rung !== "http-method");
}

/** What one request's server tells the endpoint of its answer. */
export interface ModernAnswer {
  /**
   * Set when the answer relays a "method not found" (-32601) of the server behind: the HTTP status is then 404,
   * as the SDK gives it for a method of its own it does not know (a handler's error otherwise stays on 200).
   */
  methodNotFound?: boolean;
}

/**
 * A modern-only SDK handler (legacy: 'reject': the 2025 side is ours, with its sessions) building each
 * request's server with `build(caller, answer)`. The caller reaches the factory as the request's authInfo.clientId.
 */
export function modernEndpoint(
  build: (caller: string, answer: ModernAnswer) => Server,
  opts: {
    maxBodyBytes: number;
    log: Logger;
    /** Called with the resource URIs a subscriptions/listen request names; the release it returns runs when that stream ends. */
    follow?: (uris: string[]) => () => void;
  },
): ModernEndpoint {
  const handler = createMcpHandler(({ authInfo }) => build(authInfo?.clientId ?? "http", (authInfo?.extra?.answer as ModernAnswer | undefined) ?? {}), {
    legacy: "reject",
    maxRequestBodySize: opts.maxBodyBytes,
    onerror: (e) => opts.log.debug("modern request failed", { error: e.message }),
  });
  const node = toNodeHandler(handler, { maxRequestBodySize: opts.maxBodyBytes, onerror: (e) => opts.log.warn("modern request failed", { error: e.message }) });
  return {
    notify: handler.notify,
    async serve(req, res, body, caller) {
      // Pass-through identity for the factory: the caller's id only, never the token itself.
      const answer: ModernAnswer = {};
      (req as IncomingMessage & { auth?: unknown }).auth = { token: "", clientId: caller, scopes: [], extra: { answer } };
      const writeHead = res.writeHead.bind(res) as (status: number, ...rest: unknown[]) => ServerResponse;
      res.writeHead = ((status: number, ...rest: unknown[]) => writeHead(status === 200 && answer.methodNotFound ? 404 : status, ...rest)) as typeof res.writeHead;
      const uris = opts.follow ? listenedUris(body) : [];
      if (uris.length > 0) res.once("close", opts.follow!(uris));
      await node(req, res, body);
    },
    close: () => handler.close(),
  };
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The resource URIs a subscriptions/listen request asks updates for (none for any other body). */
export function listenedUris(body: unknown): string[] {
  if (typeof body !== "object" || body === null || (body as { method?: unknown }).method !== "subscriptions/listen") return [];
  const wanted = (body as { params?: { notifications?: { resourceSubscriptions?: unknown } } }).params?.notifications?.resourceSubscriptions;
  return Array.isArray(wanted) ? wanted.filter((u): u is string => typeof u === "string") : [];
}
