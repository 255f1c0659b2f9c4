import { isInputRequiredResult, ProtocolError, ProtocolErrorCode, Server, type JSONRPCRequest, type Result, type ServerContext, type Tool } from "@modelcontextprotocol/server";
import { z } from "zod";
import { createHash } from "node:crypto";
import type { App } from "./app.js";
import { redactArgs } from "./audit.js";
import { errorResult, resultText, type ToolResult } from "./backends/backend.js";
import { RemoteRpcError } from "./backends/mcp/passthrough.js";
import { formatIssues } from "./config.js";
import { completeOwn, isOwnUri, listResources, listResourceTemplates, readResource, ResourceNotFound } from "./resources.js";
import { inputBridge, maybeBridged, servesModern } from "./server-bridge.js";
import { aggregateRelay, sessionRelay, taskRelay, type SessionRelay, type ToolRoute } from "./server-passthrough.js";
import { ServiceCatalog } from "./services/catalog.js";
import { CatalogError, paginate, RESOURCE_NOT_FOUND } from "./services/catalog-page.js";
import type { AnyToolDef, RawTool, ToolContext } from "./tools/define.js";
import { buildTools } from "./tools/index.js";

const INSTRUCTIONS =
  "mcp-herd supervises MCP servers (service_* tools; a loaded service's tools appear as <service>__<tool>) " +
  "and reaches every host of a fleet (remote_* tools, host 'local' is this machine). " +
  "Failures come back as results with isError and a message saying what failed and where.";

const PROGRESS_GAP_MS = 20;

// Task-augmented calls of proxied tools and the tasks/* requests are passed to the services.
const TASKS = { list: {}, cancel: {}, requests: { tools: { call: {} } } };

interface Entry {
  tool: Tool;
  /** A proxied tool's service and own name (task-augmented calls go there as they are). */
  route?: ToolRoute;
  call(args: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult>;
}

/** Our own tools, converted once per process: JSON Schema built from zod, arguments validated before the handler. */
export class ToolCatalog {
  private readonly own = new Map<string, Entry>();

  // The providers' tools, built once per change rather than on every call.
  private provided: Map<string, Entry> | undefined;

  /** The services' resources, templates and prompts, and who owns which (shared by every session). */
  readonly content: ServiceCatalog;

  constructor(private readonly app: App) {
    this.content = new ServiceCatalog(app.services, {
      log: app.log.child("catalog"),
      startedAt: app.startedAt,
      startupWaitMs: app.config.startupWaitSeconds * 1000,
    });
    for (const def of buildTools(app)) {
      if (this.own.has(def.name)) throw new Error(`duplicate tool name ${def.name}`);
      this.own.set(def.name, fromDef(def));
    }
    for (const p of app.providers) p.onChange(() => (this.provided = undefined));
  }

  /** Every tool a client sees now: ours first, then the providers' (proxied service tools). */
  list(): Tool[] {
    return [...this.own.values(), ...this.providedEntries().values()].map((e) => e.tool);
  }

  find(name: string): Entry | undefined {
    return this.findListed(name) ?? this.unlisted(name);
  }

  /** A tool of ours or of a running service, as tools/list shows it. */
  findListed(name: string): Entry | undefined {
    return this.own.get(name) ?? this.providedEntries().get(name);
  }

  // A provider may answer a name it does not list (a tool of a service that is not running says so).
  private unlisted(name: string): Entry | undefined {
    for (const p of this.app.providers) {
      const raw = p.resolve?.(name);
      if (raw) return fromRaw(raw);
    }
    return undefined;
  }

  private providedEntries(): Map<string, Entry> {
    if (!this.provided) {
      const m = new Map<string, Entry>();
      // A provider's tool never shadows one of ours.
      for (const t of this.providerTools()) if (!this.own.has(t.name) && !m.has(t.name)) m.set(t.name, fromRaw(t));
      this.provided = m;
    }
    return this.provided;
  }

  private providerTools(): RawTool[] {
    const out: RawTool[] = [];
    for (const p of this.app.providers) {
      try {
        out.push(...p.list());
      } catch (e) {
        this.app.log.warn("a tool provider failed to list its tools", { error: (e as Error).message });
      }
    }
    return out;
  }
}

function fromDef(def: AnyToolDef): Entry {
  // Strict: a misspelt or unknown argument is refused, naming what the tool takes, rather than dropped unseen.
  const input = z.strictObject(def.input);
  const takes = Object.keys(def.input).join(", ") || "no arguments";
  const tool: Tool = {
    name: def.name,
    title: def.title,
    description: def.description,
    inputSchema: z.toJSONSchema(input, { io: "input" }) as Tool["inputSchema"],
    annotations: { title: def.title, ...def.annotations },
  };
  if (def.output) tool.outputSchema = withId(def.name, z.toJSONSchema(z.object(def.output), { io: "output" }) as Tool["outputSchema"] & object);
  return {
    tool,
    async call(args, ctx) {
      const parsed = input.safeParse(args);
      if (!parsed.success) {
        const unknown = parsed.error.issues.some((i) => i.code === "unrecognized_keys");
        return errorResult(`${def.name}: invalid arguments: ${formatIssues(parsed.error)}${unknown ? ` (it takes: ${takes})` : ""}`);
      }
      return def.handler(parsed.data, ctx);
    },
  };
}

// SDK clients compile each output schema with ajv on every tools/list unless it has an $id they have
// compiled before (ajv.getSchema): named by its content, a schema is compiled once per client.
function withId(tool: string, schema: NonNullable<Tool["outputSchema"]>): NonNullable<Tool["outputSchema"]> {
  const hash = createHash("sha256").update(JSON.stringify(schema)).digest("hex").slice(0, 16);
  return { $id: `urn:mcp-herd:output:${tool}:${hash}`, ...schema };
}

function fromRaw(raw: RawTool): Entry {
  const tool: Tool = { name: raw.name, description: raw.description, inputSchema: raw.inputSchema };
  if (raw.title) tool.title = raw.title;
  if (raw.outputSchema) tool.outputSchema = raw.outputSchema;
  if (raw.annotations) tool.annotations = raw.annotations;
  if (raw.more) Object.assign(tool, raw.more);
  return { tool, route: raw.route, call: (args, ctx) => raw.call(args, ctx) };
}

type Handler = (request: JSONRPCRequest, ctx: ServerContext) => Promise<Result>;

/**
 * The low-level Server, except for tools/call outside the 2026-07-28 era: a task-augmented call (2025-11-25
 * tasks, which v2 no longer models) answers with the service's CreateTaskResult as it came, instead of failing
 * CallToolResult validation; and a 2025 session's call skips the SDK's second zod pass over the request and the
 * whole result (input_required, which that pass exists for, is never answered there), as the 1.x Server never
 * made it: a proxied result is the child's, handed on as our link to the child read it; the request's shape is
 * checked here instead (without it, a call with no name is a -32603 carrying zod's issue list).
 */
class HerdServer extends Server {
  protected override _wrapHandler(method: string, handler: Handler): Handler {
    const wrapped = super._wrapHandler(method, handler);
    if (method !== "tools/call") return wrapped;
    return (request, ctx) => {
      const params = request.params as { name?: unknown; arguments?: unknown; task?: unknown } | undefined;
      if (params?.task !== undefined) return handler(request, ctx);
      if (servesModern(this)) return wrapped(request, ctx);
      const args = params?.arguments;
      if (typeof params?.name !== "string" || (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))))
        return Promise.reject(new ProtocolError(ProtocolErrorCode.InvalidParams, "Invalid tools/call request: params.name must be a string and params.arguments an object"));
      return handler(request, ctx);
    };
  }
}

export interface SessionInfo {
  /** "stdio", or an id for the HTTP caller (never the token itself). */
  caller: string;
  /**
   * False for an instance that serves one 2026-07-28 HTTP request: it pushes nothing (list changes
   * reach those clients through the endpoint's subscriptions/listen streams, see watchLists).
   */
  pushes?: boolean;
  /** True for a 2026-07-28 stdio connection: the SDK's listen router picks the streams each resource update goes to. */
  listenRouted?: boolean;
}

/** What a client's lists may show changed: the sink of watchLists. */
export interface ListSink {
  tools(): void;
  resources(): void;
  prompts(): void;
  /** The content of one resource changed (its owning service said so). */
  updated(uri: string): void;
}

/** Calls the sink on every change of the tools, resources (a service's log resource too), prompts and a resource's content; returns the unsubscribe. */
export function watchLists(app: App, catalog: ToolCatalog, sink: ListSink): () => void {
  // One log resource per service: the resource list changes when a service is loaded or unloaded.
  const names = () => app.services.list().map((s) => s.name).join("\n");
  let serviceNames = names();
  const stops = [
    ...app.providers.map((p) => p.onChange(() => sink.tools())),
    app.services.onChange(() => {
      const now = names();
      if (now === serviceNames) return;
      serviceNames = now;
      sink.resources();
    }),
    catalog.content.onChange((kind) => (kind === "resources" ? sink.resources() : sink.prompts())),
    catalog.content.onResourceUpdated((uri) => sink.updated(uri)),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}

/** One MCP server per client session, sharing the App and its catalog. */
export function createServer(app: App, catalog: ToolCatalog, session: SessionInfo): Server {
  const server = new HerdServer(
    { name: "mcp-herd", title: "mcp-herd", version: app.version },
    {
      capabilities: {
        tools: { listChanged: true },
        resources: { listChanged: true, subscribe: true },
        prompts: { listChanged: true },
        completions: {},
        logging: {},
        tasks: TASKS,
      },
      instructions: INSTRUCTIONS,
    },
  );

  const relay = sessionRelay(app, server, session.caller, { logging: true });
  const taskCall = taskRelay(app, server, relay);
  server.setRequestHandler("tools/list", async () => {
    await catalog.content.ready();
    return { tools: catalog.list() };
  });
  const content = registerContentHandlers(server, app, catalog.content, relay, session.caller);

  server.setRequestHandler("tools/call", async (request, extra) => {
    const { name } = request.params;
    // A call right after start (a one-shot client that never lists) may name a service still starting.
    const entry = catalog.findListed(name) ?? (await catalog.content.ready().then(() => catalog.find(name)));
    if (!entry) throw new RemoteRpcError(ProtocolErrorCode.InvalidParams, `Unknown tool '${name}'. Call tools/list to see the tools.`);
    if (request.params.task) {
      const created = await taskCall(entry.route, request.params, extra);
      app.audit?.record({ who: session.caller, what: `${name} (as a task)`, args: redactArgs(request.params.arguments ?? {}), ok: true });
      return created as never;
    }
    const token = request.params._meta?.progressToken;
    let lastProgressAt = 0;
    const ctx: ToolContext = {
      signal: extra.mcpReq.signal,
      wantsProgress: token !== undefined,
      caller: session.caller,
      client: relay.linkFor(extra),
      progress(p) {
        if (token === undefined || extra.mcpReq.signal.aborted) return;
        lastProgressAt = Date.now();
        extra.mcpReq
          .notify({ method: "notifications/progress", params: { progressToken: token, ...p } })
          .catch(() => undefined);
      },
    };
    const args = request.params.arguments ?? {};
    const started = Date.now();
    // A 2026-07-28 request gets no pushed requests: a service's requests become the call's input_required rounds.
    const bridged = servesModern(server) && (entry.route || extra.mcpReq.requestState() !== undefined) ? inputBridge(app).open(session.caller, name, args, ctx, extra, (c) => entry.call(args, c)) : undefined;
    let result: ToolResult;
    try {
      const out = bridged ? await bridged.step() : await entry.call(args, ctx);
      if (isInputRequiredResult(out)) return out;
      result = out;
    } catch (e) {
      app.log.warn("tool failed unexpectedly", { tool: name, error: (e as Error).message });
      result = errorResult(`${name} failed: ${(e as Error).message}`);
    }
    // The SDK client (1.x) drops a progress notification that it reads in the same chunk as the
    // call's result (it handles the notification a microtask after the response removed its
    // handler): leave a short gap after the last progress so the final one is not lost.
    const sinceProgress = Date.now() - lastProgressAt;
    if (lastProgressAt > 0 && sinceProgress < PROGRESS_GAP_MS) await new Promise((r) => setTimeout(r, PROGRESS_GAP_MS - sinceProgress));
    // Everything that can change something is audited: spawns, remote commands, file writes, proxied calls.
    if (app.audit && entry.tool.annotations?.readOnlyHint !== true) {
      const where = ["host", "name", "path"].map((k) => args[k]).find((v) => typeof v === "string") as string | undefined;
      app.audit.record({
        who: session.caller,
        what: name,
        where,
        args: redactArgs(args),
        ok: !result.isError,
        error: result.isError ? resultText(result).slice(0, 500) : undefined,
        duration_ms: Date.now() - started,
      });
    }
    return result;
  });

  const unsubscribe = [content.close];
  if (session.pushes === false) unsubscribe.push(() => relay.close());
  else {
    const sent = (p: Promise<void>) => void p.catch(() => undefined);
    unsubscribe.push(
      watchLists(app, catalog, {
        tools: () => sent(server.sendToolListChanged()),
        resources: () => server.transport && sent(server.sendResourceListChanged()),
        prompts: () => server.transport && sent(server.sendPromptListChanged()),
        updated: (uri) => server.transport && (session.listenRouted || content.subscribed.has(uri)) && sent(server.sendResourceUpdated({ uri })),
      }),
    );
    // Operator events reach every session as notifications/message, unless below the level the client chose.
    unsubscribe.push(app.events.on((e) => relay.sendLog({ level: e.level, logger: e.logger, data: { message: e.message, ...e.data } })));
    unsubscribe.push(aggregateRelay(app, server, relay));
  }
  const prevClose = server.onclose;
  server.onclose = () => {
    for (const u of unsubscribe) u();
    prevClose?.();
  };
  return server;
}

// A JSON-RPC error as the client should read it (RemoteRpcError: code, message without the SDK's
// "MCP error N:" prefix, data). The SDK puts a thrown error's code, message and data on the wire as
// they are, and the client's SDK adds the prefix again. Every error our handlers answer with passes here once.
// A child built on the SDK sends the prefix on the wire too; our client then adds another: strip them all.
const MCP_PREFIX = /^(?:MCP error -?\d+: )+/;

/** Any failure of a handler as a wire error: our own errors keep their code, a service's McpError loses the prefix. */
export function toWireError(e: unknown): RemoteRpcError {
  if (e instanceof CatalogError) return new RemoteRpcError(e.code, e.message, e.data);
  if (e instanceof ResourceNotFound) return new RemoteRpcError(RESOURCE_NOT_FOUND, e.message);
  if (e instanceof ProtocolError) return new RemoteRpcError(e.code, e.message.replace(MCP_PREFIX, ""), e.data);
  if (e instanceof RemoteRpcError) return MCP_PREFIX.test(e.message) ? new RemoteRpcError(e.code, e.message.replace(MCP_PREFIX, ""), e.data) : e;
  return new RemoteRpcError(ProtocolErrorCode.InternalError, (e as Error)?.message ?? String(e));
}

async function answer<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toWireError(e);
  }
}

/** Resources, prompts and completions: ours (herd://) and the services' (routed by owner); returns what the session subscribed to, and its cleanup. */
function registerContentHandlers(server: Server, app: App, content: ServiceCatalog, relay: SessionRelay, caller: string): { subscribed: ReadonlyMap<string, string>; close(): void } {
  // The URIs this session subscribed to, and the service each is held at; the catalog counts subscribers across sessions.
  const subscribed = new Map<string, string>();

  server.setRequestHandler("resources/list", (request) =>
    answer(async () => {
      await content.ready();
      const { page, nextCursor } = paginate([...listResources(app), ...content.resources()], request.params?.cursor);
      return { resources: page as ReturnType<typeof listResources>, ...(nextCursor ? { nextCursor } : {}) };
    }),
  );
  server.setRequestHandler("resources/templates/list", (request) =>
    answer(async () => {
      await content.ready();
      const { page, nextCursor } = paginate([...listResourceTemplates(), ...content.templates()], request.params?.cursor);
      return { resourceTemplates: page as ReturnType<typeof listResourceTemplates>, ...(nextCursor ? { nextCursor } : {}) };
    }),
  );
  server.setRequestHandler("resources/read", (request, ctx) =>
    answer(async () => {
      const { uri } = request.params;
      if (isOwnUri(uri)) return { contents: [await readResource(app, uri)] };
      return (await maybeBridged(app, server, caller, "resources/read", request.params, ctx, relay.linkFor(ctx), (o) => content.read(uri, o))) as { contents: [] };
    }),
  );
  server.setRequestHandler("resources/subscribe", (request, ctx) =>
    answer(async () => {
      const { uri } = request.params;
      // Our own resources change with every service event: subscribing to them is accepted, list_changed tells.
      if (isOwnUri(uri) || subscribed.has(uri)) return {};
      subscribed.set(uri, await content.subscribe(uri, { signal: ctx.mcpReq.signal, client: relay.linkFor(ctx) }));
      return {};
    }),
  );
  server.setRequestHandler("resources/unsubscribe", (request) =>
    answer(async () => {
      const { uri } = request.params;
      const service = subscribed.get(uri);
      if (service === undefined) return {};
      subscribed.delete(uri);
      await content.unhold(service, uri);
      return {};
    }),
  );
  server.setRequestHandler("prompts/list", (request) =>
    answer(async () => {
      await content.ready();
      const { page, nextCursor } = paginate(content.prompts(), request.params?.cursor);
      return { prompts: page as [], ...(nextCursor ? { nextCursor } : {}) };
    }),
  );
  server.setRequestHandler("prompts/get", (request, ctx) =>
    answer(async () => (await maybeBridged(app, server, caller, "prompts/get", request.params, ctx, relay.linkFor(ctx), (o) => content.getPrompt(request.params, o))) as { messages: [] }),
  );
  server.setRequestHandler("completion/complete", (request, ctx) =>
    answer(async () => {
      const ref = request.params.ref;
      if (ref.type === "ref/resource" && isOwnUri(ref.uri)) return { completion: completeOwn(app, ref.uri, request.params.argument) };
          return (await content.complete(request.params, { signal: ctx.mcpReq.signal, client: relay.linkFor(ctx) })) as { completion: { values: [] } };
    }),
  );

  return {
    subscribed,
    close() {
      for (const [uri, service] of subscribed) void content.unhold(service, uri);
      subscribed.clear();
    },
  };
}
