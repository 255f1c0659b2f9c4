import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import type { App } from "../app.js";
import { createServer, type ToolCatalog } from "../server.js";
import { LineGuard, STDIO_MAX_MESSAGE_BYTES, type OversizeLine } from "./stdio-lines.js";

/** JSON-RPC "Invalid Request": the message could not be taken at all. */
const INVALID_REQUEST = -32600;

/** Serves one client on stdin/stdout; ends the process's work when the client goes away or the transport dies. */
export async function serveStdio(app: App, catalog: ToolCatalog, onClientGone: () => void): Promise<void> {
  const log = app.log.child("stdio");
  const server = createServer(app, catalog, { caller: "stdio" });
  let stopping = false;
  const gone = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.error(`stdio transport is gone (${why}); stopping`);
    onClientGone();
  };
  const input = new LineGuard(STDIO_MAX_MESSAGE_BYTES, (line) => void refuse(line));
  // The guard hands on whole lines of at most the bound, so the SDK's own buffer bound is never reached.
  const transport = new StdioServerTransport(input, process.stdout, { maxBufferSize: 2 * STDIO_MAX_MESSAGE_BYTES + 1024 * 1024 });
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
  // The SDK's stdio transport does not notice stdin ending: without this the process lingers.
  process.stdin.once("end", onClientGone);
  process.stdin.once("close", onClientGone);
  process.stdout.on("error", (e: NodeJS.ErrnoException) => gone(`stdout failed: ${e.code ?? e.message}`));
  app.onShutdown(() => {
    stopping = true;
    return server.close();
  });
  await server.connect(transport);
  const sdkOnClose = transport.onclose;
  transport.onclose = () => {
    sdkOnClose?.();
    gone("the transport closed itself");
  };
  app.log.info(`mcp-herd ${app.version} serving MCP on stdio`);
}
