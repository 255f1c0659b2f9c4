import { randomUUID } from "node:crypto";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import {
  RootsListChangedNotificationSchema,
  SetLevelRequestSchema,
  type ServerNotification,
  type ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import type { App } from "./app.js";
import { LOG_LEVELS, type ClientLink } from "./backends/client-link.js";
import { LooseResult } from "./backends/passthrough.js";

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** One client session's side of the pass-through: links for its calls, its log level, what it receives. */
export interface SessionRelay {
  /** Unique per session (the hubs remember which sessions used a service). */
  readonly key: string;
  /** The link of one call in flight: the service's requests meanwhile go on that call's stream. */
  linkFor(extra: Extra): ClientLink;
  /** The session outside any call (its standalone stream). */
  readonly idle: ClientLink;
  /** Sends a log message unless the session asked for a less verbose level. */
  sendLog(params: { level: string; logger?: string; data: unknown }): void;
  close(): void;
}

/**
 * Gives a session's Server the pass-through behaviour both ways of serving share: logging/setLevel
 * (kept here and passed to every child as the most verbose level), and links for server-to-client requests.
 */
export function sessionRelay(app: App, server: Server, caller: string, opts: { logging: boolean }): SessionRelay {
  const key = `${caller}#${randomUUID()}`;
  let open = true;
  let level: string | undefined;
  const capabilities = () => server.getClientCapabilities() as Record<string, unknown> | undefined;
  const idle: ClientLink = {
    session: key,
    capabilities,
    request: (method, params, o) => server.request({ method, params } as ServerRequest, LooseResult, { signal: o.signal, timeout: o.timeoutMs }),
    idle: () => (open ? idle : undefined),
  };
  if (opts.logging) {
    server.setRequestHandler(SetLevelRequestSchema, (request) => {
      level = request.params.level;
      app.relay.setLogLevel(key, level);
      return {};
    });
  }
  return {
    key,
    idle,
    linkFor: (extra) => ({
      session: key,
      capabilities,
      request: (method, params, o) => extra.sendRequest({ method, params } as ServerRequest, LooseResult, { signal: o.signal, timeout: o.timeoutMs }),
      idle: idle.idle,
    }),
    sendLog(params) {
      if (!open || !server.transport || !passes(params.level, level)) return;
      server.notification({ method: "notifications/message", params } as ServerNotification).catch(() => undefined);
    },
    close() {
      open = false;
      app.relay.setLogLevel(key, undefined);
    },
  };
}

function passes(messageLevel: string, sessionLevel: string | undefined): boolean {
  if (!sessionLevel) return true;
  const at = (l: string) => LOG_LEVELS.indexOf(l as (typeof LOG_LEVELS)[number]);
  return at(messageLevel) >= at(sessionLevel);
}

/**
 * On /mcp: the children's log messages reach the session with the service name before their logger,
 * and the client's roots/list_changed reaches the services it has used. Returns an unsubscribe.
 */
export function aggregateRelay(app: App, server: Server, relay: SessionRelay): () => void {
  server.setNotificationHandler(RootsListChangedNotificationSchema, async () => {
    for (const svc of app.services.list()) {
      if (svc.hub?.usedBy(relay.key)) await svc.hub.notifyService("notifications/roots/list_changed");
    }
  });
  const off = app.relay.onNotification((service, method, params) => {
    if (method !== "notifications/message" || !params) return;
    const logger = typeof params.logger === "string" ? `${service}/${params.logger}` : service;
    relay.sendLog({ ...params, level: String(params.level ?? "info"), logger, data: params.data });
  });
  return () => {
    off();
    relay.close();
  };
}
