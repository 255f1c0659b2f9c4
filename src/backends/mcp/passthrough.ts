import { CLIENT_CAPABILITIES_META_KEY, ProtocolError, ProtocolErrorCode, type Client, type LoggingLevel, type Notification, type Request, type StandardSchemaV1 } from "@modelcontextprotocol/client";
import type { ModernHop, Progress, ServerIdentity } from "../backend.js";
import type { ClientLink, HubTarget, ServiceHub } from "./client-link.js";

const NOT_AN_OBJECT = { issues: [{ message: "expected a JSON object" }] };

/**
 * Results are handed on as they came (the same object, not a copy): the end client validates them, we
 * only check that a result is an object, which is all the SDK's response parse has not checked already.
 */
export const LooseResult: StandardSchemaV1<unknown, Record<string, unknown>> = {
  "~standard": {
    version: 1,
    vendor: "mcp-herd",
    validate: (v) => (typeof v === "object" && v !== null && !Array.isArray(v) ? { value: v as Record<string, unknown> } : NOT_AN_OBJECT),
  },
};

const DEFAULT_TIMEOUT_MS = 60_000;

/** Options of one forwarded request. */
export interface ForwardOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Progress the server reports for this request (the caller's own token is restored by the caller). */
  onProgress?: (p: Progress) => void;
  /** The end client's call this request serves (see CallOptions.client). */
  client?: ClientLink;
  /** A 2026-07-28 caller's envelope and retry fields (see CallOptions.hop); used only when the server speaks 2026-07-28. */
  hop?: ModernHop;
}

/** What mcp-herd offers a server as its client: every client feature, answered by the end client. */
export const CLIENT_CAPABILITIES = { roots: { listChanged: true }, sampling: {}, elicitation: { form: {}, url: {} } };

/**
 * Makes `client` hand every request and notification of its server to the hub (a service's requests go
 * to a client session; without a hub they are refused), and returns the hub's handle on this client.
 */
export function wireClient(
  client: Client,
  hub: ServiceHub | undefined,
  service: string,
  onNotification?: (method: string, params: Record<string, unknown> | undefined) => void,
): HubTarget {
  client.fallbackRequestHandler = async (request, ctx) => {
    if (!hub) throw new RemoteRpcError(ProtocolErrorCode.MethodNotFound, `mcp-herd: ${request.method} from '${service}' has no client to answer it`);
    return (await hub.answer(request.method, request.params as Record<string, unknown> | undefined, ctx.mcpReq.signal)) as never;
  };
  client.fallbackNotificationHandler = async (n) => {
    const params = n.params as Record<string, unknown> | undefined;
    hub?.notified(n.method, params);
    onNotification?.(n.method, params);
  };
  return {
    notify: (method, params) => client.notification({ method, params } as Notification),
    setLogLevel: async (level) => {
      // 2026-07-28 has no logging/setLevel (the level rides each request's _meta).
      if (client.getServerCapabilities()?.logging && client.getProtocolEra() !== "modern") await client.setLoggingLevel(level as LoggingLevel);
    },
  };
}

/** The server's name, version, capabilities and instructions as it declared them at initialize. */
export function identityOf(client: Client): ServerIdentity | undefined {
  const serverInfo = client.getServerVersion();
  if (!serverInfo) return undefined;
  const instructions = client.getInstructions();
  return { serverInfo, capabilities: (client.getServerCapabilities() ?? {}) as Record<string, unknown>, ...(instructions ? { instructions } : {}) };
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
  const hop = opts.hop && client.getProtocolEra() === "modern" ? opts.hop : undefined;
  const request = { method, params: hop ? withHop(withoutProgressToken(params), hop) : withoutProgressToken(params) } as Request;
  return (await client.request(request, LooseResult, {
    signal: opts.signal,
    // The server's input_required goes back to the caller as it came, not fulfilled here.
    ...(hop ? { allowInputRequired: true } : {}),
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(onProgress
      ? { resetTimeoutOnProgress: true, onprogress: (p) => onProgress({ progress: p.progress, total: p.total, message: p.message }) }
      : {}),
  })) as Record<string, unknown>;
}

/**
 * The caller's own material on a 2026-07-28 request: its client capabilities in the envelope (the SDK
 * spreads a request's own _meta over the envelope it builds, so they replace mcp-herd's) and the retry fields.
 */
function withHop(params: Record<string, unknown> | undefined, hop: ModernHop): Record<string, unknown> {
  const meta = (params?._meta as Record<string, unknown> | undefined) ?? {};
  return {
    ...params,
    ...(hop.capabilities ? { _meta: { ...meta, [CLIENT_CAPABILITIES_META_KEY]: hop.capabilities } } : {}),
    ...(hop.inputResponses !== undefined ? { inputResponses: hop.inputResponses } : {}),
    ...(hop.requestState !== undefined ? { requestState: hop.requestState } : {}),
  };
}

function withoutProgressToken(params: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const meta = params?._meta as Record<string, unknown> | undefined;
  if (!params || !meta || !("progressToken" in meta)) return params;
  const { progressToken: _token, ...rest } = meta;
  const { _meta: _old, ...others } = params;
  return Object.keys(rest).length ? { ...others, _meta: rest } : others;
}

/** A JSON-RPC error as it goes on the wire: the far server's own (code, message without the SDK's prefix, data), or ours. */
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
  if (!(e instanceof ProtocolError)) return undefined;
  const prefix = `MCP error ${e.code}: `;
  const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return new RemoteRpcError(e.code, message, e.data);
}
