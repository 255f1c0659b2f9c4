import { Client, type ClientContext, type JSONRPCRequest, type Result } from "@modelcontextprotocol/client";

// The client requests 2026-07-28 embeds in an input_required result instead of pushing them.
const EMBEDDED = new Set(["elicitation/create", "sampling/createMessage", "roots/list"]);

/**
 * The SDK Client, except that a 2026-07-28 server's input_required requests (fulfilled by the SDK's
 * driver through the registered handlers) reach the same fallback handler as a 2025 server's pushed
 * ones: the hub, which asks the end client of the call in flight, of either era.
 */
export class HerdClient extends Client {
  protected override _getRequestHandler(method: string): ((request: JSONRPCRequest, ctx: ClientContext) => Promise<Result>) | undefined {
    return super._getRequestHandler(method) ?? (EMBEDDED.has(method) ? this.fallbackRequestHandler : undefined);
  }
}
