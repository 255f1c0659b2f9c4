import { randomUUID } from "node:crypto";
import { CLIENT_CAPABILITIES_META_KEY, ProtocolErrorCode, type Server, type ServerContext, type ServerNotification, type ServerRequest } from "@modelcontextprotocol/server";
import { z } from "zod";
import type { App } from "./app.js";
import { LOG_LEVELS, type ClientLink } from "./backends/mcp/client-link.js";
import { LooseResult, RemoteRpcError } from "./backends/mcp/passthrough.js";

type Extra = ServerContext;

// tasks/* left the v2 SDK's typed surface (SEP-2663): they are registered as custom methods with these params.
const TaskParams = z.looseObject({ taskId: z.string() });
const ListParams = z.looseObject({ cursor: z.string().optional() }).optional();

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
export function sessionRelay(
  app: App,
  server: Server,
  caller: string,
  opts: {
    logging: boolean;
    /** False while a request outside any call would be lost (an HTTP session with no GET stream open). */
    reachable?: () => boolean;
  },
): SessionRelay {
  const key = `${caller}#${randomUUID()}`;
  let open = true;
  let level: string | undefined;
  const capabilities = () => server.getClientCapabilities() as Record<string, unknown> | undefined;
  const idle: ClientLink = {
    session: key,
    capabilities,
    request: (method, params, o) => server.request({ method, params } as ServerRequest, LooseResult, { signal: o.signal, timeout: o.timeoutMs }),
    idle: () => (open && (opts.reachable?.() ?? true) ? idle : undefined),
  };
  if (opts.logging) {
    server.setRequestHandler("logging/setLevel", (request) => {
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
      // A 2026-07-28 request names its client's capabilities itself; a 2025 session named them at initialize.
      capabilities: () => ((extra.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as Record<string, unknown> | undefined) ?? capabilities(),
      request: (method, params, o) => extra.mcpReq.send({ method, params } as ServerRequest, LooseResult, { signal: o.signal, timeout: o.timeoutMs }),
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
  server.setNotificationHandler("notifications/roots/list_changed", async () => {
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

/** Where a proxied tool lives: the service and the tool's own name there. */
export interface ToolRoute {
  service: string;
  tool: string;
}

const MAX_TASKS = 1000;

/**
 * On /mcp: a task-augmented call of a proxied tool goes to its service as is, and tasks/get, tasks/result,
 * tasks/cancel and tasks/list reach the service that created the task (only for the session that created it).
 */
export function taskRelay(app: App, server: Server, relay: SessionRelay): (route: ToolRoute | undefined, params: Record<string, unknown>, extra: Extra) => Promise<Record<string, unknown>> {
  const owners = new Map<string, string>();
  const serviceOf = (taskId: unknown): string => {
    const owner = typeof taskId === "string" ? owners.get(taskId) : undefined;
    if (!owner) throw new RemoteRpcError(ProtocolErrorCode.InvalidParams, `unknown task '${String(taskId)}': this session created no task with that id`);
    return owner;
  };
  const send = async (service: string, method: string, params: Record<string, unknown> | undefined, extra: Extra) => {
    const svc = app.services.get(service);
    if (!svc?.request) throw new RemoteRpcError(ProtocolErrorCode.InvalidParams, `service '${service}' that owns this task is no longer loaded`);
    try {
      return await svc.request(method, params, { signal: extra.mcpReq.signal, client: relay.linkFor(extra) });
    } catch (e) {
      if (e instanceof RemoteRpcError) throw e;
      throw new RemoteRpcError(ProtocolErrorCode.InternalError, (e as Error).message);
    }
  };
  for (const method of ["tasks/get", "tasks/result", "tasks/cancel"]) {
    server.setRequestHandler(method, { params: TaskParams }, async (params, extra) => await send(serviceOf(params.taskId), method, params, extra));
  }
  server.setRequestHandler("tasks/list", { params: ListParams }, async (_params, ctx) => {
    const tasks: unknown[] = [];
    for (const service of new Set(owners.values())) {
          const r = await send(service, "tasks/list", {}, ctx).catch(() => ({ tasks: [] }));
      for (const t of (r.tasks as { taskId?: string }[] | undefined) ?? []) if (t.taskId && owners.get(t.taskId) === service) tasks.push(t);
    }
    return { tasks };
  });
  return async (route, params, extra) => {
    if (!route) throw new RemoteRpcError(ProtocolErrorCode.InvalidParams, `${String(params.name)} is one of mcp-herd's own tools, which do not run as tasks: call it without 'task'`);
    const result = await send(route.service, "tools/call", { ...params, name: route.tool }, extra);
    const taskId = (result.task as { taskId?: unknown } | undefined)?.taskId;
    if (typeof taskId === "string") {
      owners.set(taskId, route.service);
      if (owners.size > MAX_TASKS) owners.delete(owners.keys().next().value!);
    }
    return result;
  };
}
