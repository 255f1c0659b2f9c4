import type { z } from "zod";
import type { Progress, ToolResult } from "../backends/backend.js";
import type { ClientLink } from "../backends/mcp/client-link.js";

/** The four MCP tool annotations; every tool sets all of them. */
export interface Annotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** What a tool handler may use of the request it serves, without knowing the SDK. */
export interface ToolContext {
  signal: AbortSignal;
  /** Sends a progress notification when the caller asked for progress; a no-op otherwise. */
  progress(p: Progress): void;
  /** True when the caller sent a progress token. */
  wantsProgress: boolean;
  /** Who called: "stdio", or the HTTP session's token id. */
  caller: string;
  /** The caller's session for this call: a service's own requests (sampling, roots, ...) meanwhile go to it. */
  client?: ClientLink;
}

/** A tool of ours: zod input (and output) shape, annotations, handler. */
export interface ToolDef<I extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  input: I;
  /** When set, the handler returns structuredContent matching it, plus a text mirror. */
  output?: z.ZodRawShape;
  annotations: Annotations;
  handler(args: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolResult>;
}

/** Keeps the handler's argument type tied to the input shape. */
export function defineTool<I extends z.ZodRawShape>(def: ToolDef<I>): ToolDef<I> {
  return def;
}

/** A tool whose schema is raw JSON Schema (a child's or a peer's), passed through untouched. */
export interface RawTool {
  name: string;
  title?: string;
  description: string;
  inputSchema: { type: "object"; [k: string]: unknown };
  outputSchema?: { type: "object"; [k: string]: unknown };
  annotations?: Partial<Annotations> & { title?: string };
  /** The rest of the service's tool definition, served unchanged (_meta, execution, icons, ...). */
  more?: Record<string, unknown>;
  /** For a service's tool: the service and the tool's own name there. */
  route?: { service: string; tool: string };
  call(args: Record<string, unknown>, ctx: ToolContext): Promise<ToolResult>;
}

/** A source of tools that can change at run time (loaded services). */
export interface ToolProvider {
  list(): RawTool[];
  /** A tool it does not list but can still answer (e.g. one of a service that is restarting), or undefined. */
  resolve?(name: string): RawTool | undefined;
  /** Called with a listener fired whenever list() would answer differently; returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}

// Tool handlers always get a ToolDef with a plain shape; this alias keeps registries simple.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyToolDef = ToolDef<any>;
