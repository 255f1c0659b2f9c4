import { classifyInboundRequest, SUBSCRIPTION_ID_META_KEY, type JSONRPCMessage, type RequestId, type Transport } from "@modelcontextprotocol/server";
import { serveStdio as serveBothEras, StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import type { App } from "../app.js";
import { followResources } from "../resources.js";
import { createServer, type ToolCatalog } from "../server.js";
import { listenedUris } from "./modern.js";
import { LineGuard, STDIO_MAX_MESSAGE_BYTES, type OversizeLine } from "./stdio-lines.js";

/** JSON-RPC "Invalid Request": the message could not be taken at all. */
const INVALID_REQUEST = -32600;

// The SDK's stdio transport, wrapped: it tells us when it closed itself (a broken pipe, an oversize buffer,
// stdin's end), holds the messages read before the connection's era is decided, and holds the resource
// subscriptions of the 2026-07-28 listen streams the SDK's entry acknowledged.
class WatchedTransport implements Transport {
  onmessage?: (m: JSONRPCMessage) => void;
  onclose?: () => void;
  onerror?: (e: Error) => void;
  private readonly inner: StdioServerTransport;
  private readonly follows = new Map<RequestId, () => void>();
  /** Messages read before `release`, in order; `undefined` once the era is decided. */
  private held: JSONRPCMessage[] | undefined = [];
  private started: Promise<void> | undefined;

  constructor(
    input: LineGuard,
    private readonly closed: () => void,
    private readonly follow: (uris: string[]) => () => void,
    /** The first message read, to decide the era with (the messages after it wait until `release`). */
    private readonly first: (m: JSONRPCMessage) => void,
  ) {
    // The guard hands on whole lines of at most the bound, so the SDK's own buffer bound is never reached.
    this.inner = new StdioServerTransport(input, process.stdout, { maxBufferSize: 2 * STDIO_MAX_MESSAGE_BYTES + 1024 * 1024 });
    this.inner.onmessage = (m) => {
      if (this.held) {
        this.held.push(m);
        if (this.held.length === 1) this.first(m);
        return;
      }
      if (this.follows.size > 0) this.watchInbound(m);
      this.onmessage?.(m);
    };
    this.inner.onerror = (e) => this.onerror?.(e);
    this.inner.onclose = () => {
      for (const release of this.follows.values()) release();
      this.follows.clear();
      this.onclose?.();
      this.closed();
    };
  }

  /** Started once, by us, before the era is known; whoever connects later finds it running. */
  start(): Promise<void> {
    return (this.started ??= this.inner.start());
  }

  /** Hands the held messages, in order, to whoever connected since; later ones go straight to it. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const m of held) {
      if (this.follows.size > 0) this.watchInbound(m);
      this.onmessage?.(m);
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    if ("method" in message && message.method === "notifications/subscriptions/acknowledged") this.hold(message.params);
    return this.inner.send(message);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  // The acknowledgement names the subscription (the listen request's id) and the URIs it honours.
  private hold(params: Record<string, unknown> | undefined): void {
    const id = (params?._meta as Record<string, unknown> | undefined)?.[SUBSCRIPTION_ID_META_KEY] as RequestId | undefined;
    const uris = listenedUris({ method: "subscriptions/listen", params });
    if (id === undefined || uris.length === 0 || this.follows.has(id)) return;
    this.follows.set(id, this.follow(uris));
  }

  private watchInbound(m: JSONRPCMessage): void {
    if (!("method" in m) || m.method !== "notifications/cancelled") return;
    const id = (m.params as { requestId?: RequestId } | undefined)?.requestId;
    const release = id === undefined ? undefined : this.follows.get(id);
    if (!release) return;
    this.follows.delete(id!);
    release();
  }
}

/**
 * Serves one client on stdin/stdout, of either era (the SDK's serveStdio pins the connection to the era
 * its first message speaks); ends the process's work when the client goes away or the transport dies.
 */
export async function serveStdio(app: App, catalog: ToolCatalog, onClientGone: () => void): Promise<void> {
  const log = app.log.child("stdio");
  let stopping = false;
  const clientGone = () => {
    stopping = true;
    onClientGone();
  };
  const gone = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.error(`stdio transport is gone (${why}); stopping`);
    onClientGone();
  };
  const input = new LineGuard(STDIO_MAX_MESSAGE_BYTES, (line) => void refuse(line));
  let handle: { close(): Promise<void> } | undefined;
  const transport = new WatchedTransport(
    input,
    () => gone("the transport closed itself"),
    (uris) => followResources(catalog.content, uris, (uri, e) => log.debug("a listen stream's resource cannot be followed", { uri, error: e.message })),
    (first) => void connect(first),
  );
  // A 2025 client opens with initialize: its server is connected to the transport itself, as the SDK's
  // 2025 servers are, so each message skips the two-era entry's queue and checks (about 15% of a
  // proxied call's cost here). Anything else (a 2026-07-28 request, a server/discover probe, which may
  // still fall back to initialize) goes to the SDK's two-era entry, which decides and pins the era.
  const connect = async (first: JSONRPCMessage) => {
    try {
      if (opensLegacy(first)) {
        const server = createServer(app, catalog, { caller: "stdio", listenRouted: false });
        server.onerror = (e) => log.debug("stdio message failed", { error: e.message });
        await server.connect(transport);
        handle = { close: () => server.close() };
      } else {
        // A 2026-07-28 connection's resource updates go to the SDK's listen router, which sends each to the streams following its URI.
        handle = serveBothEras(({ era }) => createServer(app, catalog, { caller: "stdio", listenRouted: era === "modern" }), {
          transport,
          onerror: (e) => log.debug("stdio message failed", { error: e.message }),
        });
      }
    } catch (e) {
      gone(`could not serve the client: ${(e as Error).message}`);
      return;
    }
    if (stopping) void handle.close();
    else transport.release();
  };
  const refuse = async (line: OversizeLine) => {
    const what = `a message of ${line.bytes} bytes is over the stdio limit of ${STDIO_MAX_MESSAGE_BYTES / 1024 / 1024} MiB`;
    if (line.id === undefined) {
      log.error(`${what}; dropped it (no request id found to answer)`);
      return;
    }
    log.error(`${what}; answered request ${JSON.stringify(line.id)} with an error`);
    const reply: JSONRPCMessage = {
      jsonrpc: "2.0",
      id: line.id,
      error: { code: INVALID_REQUEST, message: `Request too large: ${what}. Send less per call (write_file has append for large content).` },
    };
    await transport.send(reply).catch((e: Error) => log.warn("could not answer an oversize request", { error: e.message }));
  };
  process.stdin.pipe(input);
  // The client leaving is the end of our work, not a failure of the transport.
  process.stdin.once("end", clientGone);
  process.stdin.once("close", clientGone);
  process.stdout.on("error", (e: NodeJS.ErrnoException) => gone(`stdout failed: ${e.code ?? e.message}`));
  await transport.start();
  app.onShutdown(() => {
    stopping = true;
    return handle ? handle.close() : transport.close();
  });
  app.log.info(`mcp-herd ${app.version} serving MCP on stdio`);
}

/** Whether a connection's first message is a 2025 client's initialize (no 2026-07-28 envelope), as the SDK classifies a body. */
function opensLegacy(m: JSONRPCMessage): boolean {
  if (!("method" in m) || m.method !== "initialize" || !("id" in m)) return false;
  const route = classifyInboundRequest({ httpMethod: "POST", body: m });
  return route.kind === "legacy" && route.reason === "initialize";
}
