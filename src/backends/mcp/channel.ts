import type { ServerCapabilities } from "@modelcontextprotocol/client";
import { z } from "zod";

/** What a server declared it can do in `initialize` (resources, prompts, completions, ...). */
export type ServerCaps = ServerCapabilities;

/** Options of a forwarded MCP request. */
export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** A backend that speaks MCP beyond tools: any request, its declared capabilities, its notifications. */
export interface McpChannel {
  request(method: string, params: Record<string, unknown> | undefined, opts?: RequestOptions): Promise<Record<string, unknown>>;
  serverCapabilities(): ServerCaps | undefined;
  /** Calls `handler` for every notification `method` the server sends (also after a reconnect). */
  onNotification(method: string, handler: (params: Record<string, unknown> | undefined) => void): void;
}

/** Any JSON object: a forwarded result is handed on as it came; the end client validates it. */
export const LOOSE_RESULT = z.looseObject({});

/** A notification schema the SDK can register a handler with, for one method and any params. */
export function notificationOf(method: string) {
  return z.object({ method: z.literal(method), params: z.optional(z.record(z.string(), z.unknown())) });
}

/** True for a backend that offers McpChannel (child and peer do; ssh and local do not). */
export function isMcpChannel(b: unknown): b is McpChannel {
  const c = b as Partial<McpChannel> | undefined;
  return typeof c?.request === "function" && typeof c.serverCapabilities === "function" && typeof c.onNotification === "function";
}
