import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError, type Request } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Progress } from "./backend.js";

/** Results are handed on as they came: the end client validates them, we do not. */
export const LooseResult = z.looseObject({});

const DEFAULT_TIMEOUT_MS = 60_000;

/** Options of one forwarded request. */
export interface ForwardOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Progress the server reports for this request (the caller's own token is restored by the caller). */
  onProgress?: (p: Progress) => void;
}

/**
 * Sends any request through the SDK client (it frames and numbers it) and returns the result untouched.
 * A progress token of the end client is replaced by the SDK's own, whose progress is handed to onProgress.
 */
export async function forward(
  client: Client,
  method: string,
  params: Record<string, unknown> | undefined,
  opts: ForwardOptions = {},
): Promise<Record<string, unknown>> {
  const onProgress = opts.onProgress;
  const request = { method, params: withoutProgressToken(params) } as Request;
  return (await client.request(request, LooseResult, {
    signal: opts.signal,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(onProgress
      ? { resetTimeoutOnProgress: true, onprogress: (p) => onProgress({ progress: p.progress, total: p.total, message: p.message }) }
      : {}),
  })) as Record<string, unknown>;
}

function withoutProgressToken(params: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const meta = params?._meta as Record<string, unknown> | undefined;
  if (!params || !meta || !("progressToken" in meta)) return params;
  const { progressToken: _token, ...rest } = meta;
  const { _meta: _old, ...others } = params;
  return Object.keys(rest).length ? { ...others, _meta: rest } : others;
}

/** A JSON-RPC error of the far server, kept as it came (code, message without the SDK's prefix, data). */
export class RemoteRpcError extends Error {
  override readonly name = "RemoteRpcError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** The far server's own error as it was on the wire, or undefined when `e` is not one. */
export function remoteError(e: unknown): RemoteRpcError | undefined {
  if (!(e instanceof McpError)) return undefined;
  const prefix = `MCP error ${e.code}: `;
  const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return new RemoteRpcError(e.code, message, e.data);
}
