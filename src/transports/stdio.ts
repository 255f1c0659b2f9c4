import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { serveStdio as serveBothEras, StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import type { App } from "../app.js";
import { createServer, type ToolCatalog } from "../server.js";
import { LineGuard, STDIO_MAX_MESSAGE_BYTES, type OversizeLine } from "./stdio-lines.js";

/** JSON-RPC "Invalid Request": the message could not be taken at all. */
const INVALID_REQUEST = -32600;

// The SDK's stdio transport, telling us when it closed itself (a broken pipe, an oversize buffer, stdin's end).
class WatchedTransport extends StdioServerTransport {
  constructor(
    input: LineGuard,
    private readonly closed: () => void,
  ) {
    // The guard hands on whole lines of at most the bound, so the SDK's own buffer bound is never reached.
    super(input, process.stdout, { maxBufferSize: 2 * STDIO_MAX_MESSAGE_BYTES + 1024 * 1024 });
  }

  override async close(): Promise<void> {
    await super.close();
    this.closed();
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
  const transport = new WatchedTransport(input, () => gone("the transport closed itself"));
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
  const handle = serveBothEras(() => createServer(app, catalog, { caller: "stdio" }), {
    transport,
    onerror: (e) => log.debug("stdio message failed", { error: e.message }),
  });
  app.onShutdown(() => {
    stopping = true;
    return handle.close();
  });
  app.log.info(`mcp-herd ${app.version} serving MCP on stdio`);
}
