import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { App } from "../app.js";
import { createServer, type ToolCatalog } from "../server.js";

/** Serves one client on stdin/stdout; ends the process's work when the client goes away. */
export async function serveStdio(app: App, catalog: ToolCatalog, onClientGone: () => void): Promise<void> {
  const server = createServer(app, catalog, { caller: "stdio" });
  const transport = new StdioServerTransport();
  // The SDK's stdio transport does not notice stdin ending: without this the process lingers.
  process.stdin.once("end", onClientGone);
  process.stdin.once("close", onClientGone);
  app.onShutdown(() => server.close());
  await server.connect(transport);
  app.log.info(`mcp-herd ${app.version} serving MCP on stdio`);
}
