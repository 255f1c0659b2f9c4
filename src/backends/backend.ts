import type { CallToolResult, Tool } from "@modelcontextprotocol/client";
import type { ClientLink } from "./mcp/client-link.js";

/** The result of any tool call, ours or a backend's (the MCP `CallToolResult` shape). */
export type ToolResult = CallToolResult;
/** A tool as a backend advertises it (the MCP `Tool` shape, JSON Schema untouched). */
export type ToolInfo = Tool;

export type BackendKind = "child" | "peer" | "ssh" | "local";

export interface Progress {
  progress: number;
  total?: number;
  message?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  onProgress?: (p: Progress) => void;
  /** The end client's call this one serves: the service's own requests meanwhile are asked of it. */
  client?: ClientLink;
  /** A 2026-07-28 caller's own request material, handed to a 2026-07-28 server as it came (see ModernHop). */
  hop?: ModernHop;
}

/**
 * What a 2026-07-28 caller's request carries that a 2026-07-28 server must see as it came: its client
 * capabilities (the service sees them, not mcp-herd's own) and a retry's inputResponses and requestState.
 * With a hop, the server's input_required result is handed back as it came instead of being fulfilled here.
 */
export interface ModernHop {
  capabilities?: Record<string, unknown>;
  inputResponses?: Record<string, unknown>;
  requestState?: string;
}

/** Who a connected MCP server says it is, for serving it as itself (the per-service endpoint). */
export interface ServerIdentity {
  serverInfo: { name: string; version: string; [k: string]: unknown };
  capabilities: Record<string, unknown>;
  instructions?: string;
}

/** Everything a call can end at: a child, an HTTP peer, an SSH host or this machine. */
export interface Backend {
  readonly kind: BackendKind;
  listTools(): Promise<ToolInfo[]>;
  /** Throws TransportError when the backend cannot be reached; a tool that ran and failed returns isError. */
  callTool(name: string, args: Record<string, unknown>, opts?: CallOptions): Promise<ToolResult>;
  /** Forwards any MCP request untouched (absent where the backend speaks tools only). */
  request?(method: string, params: Record<string, unknown> | undefined, opts?: CallOptions): Promise<Record<string, unknown>>;
  /** Who the server said it is at initialize. */
  identity?(): ServerIdentity | undefined;
  /** The era the connection to the server speaks, once connected over MCP. */
  era?(): "legacy" | "modern" | undefined;
  close(): Promise<void>;
}

/** The backend could not be reached (refused, timeout, auth, 5xx): the router may fall back. */
export class TransportError extends Error {
  override readonly name = "TransportError";
  constructor(
    message: string,
    readonly backend: BackendKind,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A text result, with structured data beside it when the tool has an output schema. */
export function textResult(text: string, structured?: Record<string, unknown>): ToolResult {
  const result: ToolResult = { content: [{ type: "text", text }] };
  if (structured !== undefined) result.structuredContent = structured;
  return result;
}

/** A failure a person can act on: what failed, where, and why. */
export function errorResult(message: string, structured?: Record<string, unknown>): ToolResult {
  return { ...textResult(message, structured), isError: true };
}

/** The first text block of a result, for messages and tests. */
export function resultText(result: ToolResult): string {
  for (const block of result.content ?? []) if (block.type === "text") return block.text;
  return "";
}
