import type { Client, McpSubscription } from "@modelcontextprotocol/client";

// Why: 2026-07-28 has no resources/subscribe; a server sends a resource's updates only on a
// subscriptions/listen stream that names it. Our catalog subscribes the 2025 way, so we translate.
/** resources/subscribe and unsubscribe to a 2026-07-28 server, as one listen stream per URI. */
export class ListenSubscriptions {
  private readonly streams = new Map<string, Promise<McpSubscription | undefined>>();

  constructor(private readonly client: Client) {}

  /** True when `method` is a subscription request this connection must translate (a 2026-07-28 one). */
  handles(method: string): boolean {
    return (method === "resources/subscribe" || method === "resources/unsubscribe") && this.client.getProtocolEra() === "modern";
  }

  /** Opens (subscribe) or closes (unsubscribe) the URI's listen stream; answers as the 2025 request would, with {}. */
  async request(method: string, params: Record<string, unknown> | undefined, timeoutMs: number): Promise<Record<string, unknown>> {
    const uri = params?.uri;
    if (typeof uri !== "string") throw new Error(`${method}: params.uri must be a string`);
    if (method === "resources/subscribe") {
      if (!this.streams.has(uri)) {
        const opened = this.client.listen({ resourceSubscriptions: [uri] }, { timeout: timeoutMs });
        this.streams.set(
          uri,
          opened.catch(() => undefined),
        );
        try {
          await opened;
        } catch (e) {
          this.streams.delete(uri);
          throw e;
        }
      }
      return {};
    }
    const stream = this.streams.get(uri);
    this.streams.delete(uri);
    await (await stream)?.close();
    return {};
  }
}
