import { SUBSCRIPTION_ID_META_KEY, type JSONRPCMessage, type RequestId } from "@modelcontextprotocol/server";
import { serveStdio as serveBothEras, StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import type { App } from "../app.js";
import { followResources } from "../resources.js";
import { createServer, type ToolCatalog } from "../server.js";
import { listenedUris } from "./modern.js";
import { LineGuard, STDIO_MAX_MESSAGE_BYTES, type OversizeLine } from "./stdio-lines.js";

/** JSON-RPC "Invalid Request": the message could not be taken at all. */
const INVALID_REQUEST = -32600;

// The SDK's stdio transport, telling us when it closed itself (a broken pipe, an oversize buffer, stdin's end),
// and holding the resource subscriptions of the 2026-07-28 listen streams the SDK's entry acknowledged.
class WatchedTransport extends StdioServerTransport {
  private readonly follows = new Map<RequestId, () => void>();

  constructor(
    input: LineGuard,
    private readonly closed: () => void,
    private readonly follow: (uris: string[]) => () => void,
  ) {
    // The guard hands on whole lines of at most the bound, so the SDK's own buffer bound is never reached.
    super(input, process.stdout, { maxBufferSize: 2 * STDIO_MAX_MESSAGE_BYTES + 1024 * 1024 });
    // The entry sets onmessage; a listen stream ends with the client's notifications/cancelled of its id.
    let deliver: this["onmessage"];
    Object.defineProperty(this, "onmessage", {
      get: () => deliver && ((m: JSONRPCMessage) => (this.watchInbound(m), deliver!(m))),
      set: (fn: this["onmessage"]) => void (deliver = fn),
    });
  }

  override async send(message: JSONRPCMessage): Promise<void> {
    if ("method" in message && message.method === "notifications/subscriptions/acknowledged") this.hold(message.params);
    return super.send(message);
  }

  override async close(): Promise<void> {
    for (const release of this.follows.values()) release();
    this.follows.clear();
    await super.close();
    this.closed();
  }

  // The acknowledgement names the subscription (the listen request's id) and the URIs it honours.
  private hold(params: Record<string, unknown> | undefined): void {
    const id = (params?._meta as Record<string, unknown> | undefined)?.[SUBSCRIPTION_ID_META_KEY] as RequestId | undefined;
    const uris = listenedUris({ method: "subscriptions/listen", params });
    if (id === undefined || uris.length === 0 || this.follows.has(id)) return;
    this.follows.set(id, this.follow(uris));
  }

  private watchInbound(m: JSONRPCMessage): void {
    if (this.follows.size === 0 || !("method" in m) || m.method !== "notifications/cancelled") return;
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
  const transport = new WatchedTransport(
    input,
    () => gone("the transport closed itself"),
    (uris) => followResources(catalog.content, uris, (uri, e) => log.debug("a listen stream's resource cannot be followed", { uri, error: e.message })),
  );
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
  // A 2026-07-28 connection's resource updates go to the SDK's listen router, which sends each to the streams following its URI.
  const handle = serveBothEras(({ era }) => createServer(app, catalog, { caller: "stdio", listenRouted: era === "modern" }), {
    transport,
    onerror: (e) => log.debug("stdio message failed", { error: e.message }),
  });
  app.onShutdown(() => {
    stopping = true;
    return handle.close();
  });
  app.log.info(`mcp-herd ${app.version} serving MCP on stdio`);
}
