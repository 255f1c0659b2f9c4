import {
  Client,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type PriorDiscovery,
  type VersionNegotiationMode,
} from "@modelcontextprotocol/client";
import type { ProtocolChoice } from "../config.js";
import type { Logger } from "../log.js";
import { VERSION } from "../version.js";
import {
  TransportError,
  errorResult,
  type Backend,
  type CallOptions,
  type ToolInfo,
  type ServerIdentity,
  type ToolResult,
} from "./backend.js";
import { ListenSubscriptions } from "./listen-subscriptions.js";
import type { HubTarget, ServiceHub } from "./mcp/client-link.js";
import { HerdClient } from "./mcp/herd-client.js";
import { CLIENT_CAPABILITIES, forward, identityOf, RemoteRpcError, remoteError, wireClient, type ForwardOptions } from "./mcp/passthrough.js";
import type { ServerCaps } from "./mcp/channel.js";

export interface PeerOptions {
  url: string;
  /** Sent as `Authorization: Bearer`; never logged. */
  token?: string;
  headers?: Record<string, string>;
  /** Bound for connecting, listing tools and plain JSON-RPC answers. */
  timeoutMs: number;
  /** Idle bound of a tool call when the caller gives none (reset by each progress notification). */
  callTimeoutMs?: number;
  log: Logger;
  /** Routes the peer's own requests to client sessions and fans out its notifications. */
  hub?: ServiceHub;
  /** "sse": the legacy HTTP+SSE transport (a client config's `"type": "sse"`); default streamable HTTP. */
  transport?: "streamable-http" | "sse";
  /** The protocol era (streamable HTTP only): legacy by default; "auto" probes and keeps the verdict until the connection is lost. */
  protocol?: ProtocolChoice;
}

type ClientTransport = StreamableHTTPClientTransport | SSEClientTransport;

type Conn =
  | { mode: "mcp"; client: Client; transport: ClientTransport; pending: Set<AbortController>; target: HubTarget; subscriptions: ListenSubscriptions }
  | { mode: "plain" };
type McpConn = Extract<Conn, { mode: "mcp" }>;

/** A failure classified once: may the router fall back, and may plain JSON-RPC work where MCP did not. */
interface Failure {
  transport: boolean;
  tryPlain: boolean;
  staleSession: boolean;
  message: string;
}

/** An MCP server (another mcp-herd, any streamable HTTP server) or an lmcp host, reached over HTTP. */
export class PeerBackend implements Backend {
  readonly kind = "peer" as const;
  private conn?: Promise<Conn>;
  private readonly where: string;
  private readonly headers: Record<string, string>;
  private closed = false;
  private current?: Client;
  private caps?: ServerCaps;
  // What the last probe found (modern: the peer's discover result; legacy); forgotten when the connection is lost.
  private verdict?: PriorDiscovery;
  // Notifications followed by the catalog (resources, prompts); the hub sees every notification as well.
  private readonly notificationHandlers = new Map<string, (params: Record<string, unknown> | undefined) => void>();
  // The resource URIs a lost 2026-07-28 connection had subscribed to, for the next one.
  private carried: string[] = [];

  constructor(private readonly opts: PeerOptions) {
    this.where = redactUrl(opts.url);
    this.headers = { ...(opts.headers ?? {}) };
    if (opts.token) this.headers.Authorization = `Bearer ${opts.token}`;
  }

  /** The era the connection speaks ("legacy" or "modern"), once connected over MCP. */
  era(): "legacy" | "modern" | undefined {
    return this.current?.getProtocolEra();
  }

  /** "mcp" or "plain" once connected; for status output and tests. */
  async mode(): Promise<"mcp" | "plain"> {
    return (await this.connect()).mode;
  }

  async listTools(): Promise<ToolInfo[]> {
    return this.withConn(async (conn) => {
      if (conn.mode === "plain") {
        const result = (await this.post("tools/list", {}, this.opts.timeoutMs)) as { tools?: ToolInfo[] };
        if (!Array.isArray(result?.tools)) throw new TransportError(`${this.where}: tools/list answer has no tools array`, "peer");
        return result.tools;
      }
      const tools: ToolInfo[] = [];
      let cursor: string | undefined;
      do {
        const page = await conn.client.listTools(cursor ? { cursor } : {}, { timeout: this.opts.timeoutMs });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor && tools.length < 10_000);
      return tools;
    });
  }

  async callTool(name: string, args: Record<string, unknown>, opts: CallOptions = {}): Promise<ToolResult> {
    const timeout = opts.timeoutMs ?? this.opts.callTimeoutMs ?? 120_000;
    try {
      return await this.withConn(async (conn) => {
        if (conn.mode === "plain") {
          const result = await this.post("tools/call", { name, arguments: args }, timeout, opts.signal);
          return result as ToolResult;
        }
        const result = await this.untilLost(conn, opts, (signal) =>
          conn.client.callTool({ name, arguments: args }, {
            signal,
            timeout,
            resetTimeoutOnProgress: true,
            onprogress: (p) => opts.onProgress?.({ progress: p.progress, total: p.total, message: p.message }),
          }),
        );
        return result as ToolResult;
      }, opts.signal);
    } catch (e) {
      if (e instanceof TransportError || opts.signal?.aborted) throw e;
      return errorResult(`peer ${this.where}: ${name} failed: ${(e as Error).message}`);
    }
  }

  /** Forwards any MCP request to the peer; its result (or its own JSON-RPC error) is handed on untouched. */
  async request(method: string, params: Record<string, unknown> | undefined, opts: ForwardOptions = {}): Promise<Record<string, unknown>> {
    const timeout = opts.timeoutMs ?? this.opts.callTimeoutMs ?? 120_000;
    try {
      return await this.withConn(async (conn) => {
        if (conn.mode === "plain") throw new TransportError(`${this.where} speaks plain JSON-RPC (tools only): ${method} cannot be forwarded`, "peer");
        if (conn.subscriptions.handles(method)) return conn.subscriptions.request(method, params, timeout);
        return this.untilLost(conn, opts, (signal) => forward(conn.client, method, params, { ...opts, signal, timeoutMs: timeout }));
      }, opts.signal);
    } catch (e) {
      const own = remoteError(e);
      if (own) throw own;
      throw e;
    }
  }

  /** Who the peer said it is at initialize; undefined before, or for a plain JSON-RPC peer. */
  identity(): ServerIdentity | undefined {
    return this.current ? identityOf(this.current) : undefined;
  }

  /**
   * Runs one request of the end client's call on the connection, with a signal that also fires when the
   * connection is lost (the SDK leaves such requests pending); the peer's own requests meanwhile go to that client.
   */
  private async untilLost<T>(conn: McpConn, opts: CallOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ctrl = new AbortController();
    conn.pending.add(ctrl);
    const signal = opts.signal ? AbortSignal.any([opts.signal, ctrl.signal]) : ctrl.signal;
    try {
      return this.opts.hub ? await this.opts.hub.during(opts.client, () => fn(signal)) : await fn(signal);
    } catch (e) {
      if (ctrl.signal.reason instanceof TransportError) throw ctrl.signal.reason;
      throw e;
    } finally {
      conn.pending.delete(ctrl);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.drop();
  }

  /** Runs fn on the shared connection; a stale session is re-established once, a transport failure drops it. */
  private async withConn<T>(fn: (conn: Conn) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const conn = await this.connect();
      try {
        return await fn(conn);
      } catch (e) {
        if (signal?.aborted) throw signal.reason ?? e;
        if (e instanceof TransportError) {
          if (conn.mode === "mcp" || /connect|closed|refused|reset/i.test(e.message)) await this.drop(conn);
          throw e;
        }
        // In 2026-07-28 there are no sessions: a 404 that carries a JSON-RPC error is the server's answer
        // (an unknown method is a 404 there), handed on as that error, not a session to re-establish.
        const inBand = conn.mode === "mcp" && conn.client.getProtocolEra() === "modern" ? rpcErrorOf404(e) : undefined;
        if (inBand) throw inBand;
        const f = classify(e, this.opts.timeoutMs);
        if (f.staleSession && attempt === 0) {
          this.opts.log.info("peer session expired, reconnecting", { url: this.where });
          await this.drop(conn, false);
          continue;
        }
        if (f.transport) {
          if (!/no answer/.test(f.message)) await this.drop(conn);
          throw new TransportError(`${f.message} (${this.where})`, "peer", { cause: e });
        }
        throw e;
      }
    }
  }

  private connect(): Promise<Conn> {
    if (this.closed) return Promise.reject(new TransportError(`${this.where}: backend closed`, "peer"));
    const p = (this.conn ??= this.open());
    p.catch(() => {
      if (this.conn === p) this.conn = undefined;
    });
    return p;
  }

  /** Ends the connection; unless only its session expired (`forget` false), the next one probes the era again. */
  private async drop(conn?: Conn, forget = true): Promise<void> {
    const current = this.conn;
    if (!current) return;
    const c = await current.catch(() => undefined);
    if (conn && c !== conn) return;
    if (this.conn === current) this.conn = undefined;
    if (forget) this.verdict = undefined;
    if (c?.mode === "mcp") {
      if (!this.closed) this.carried = [...new Set([...this.carried, ...c.subscriptions.uris()])];
      void c.subscriptions.stop();
      this.opts.hub?.detach(c.target);
      if (this.current === c.client) this.current = undefined;
      for (const ctrl of c.pending) ctrl.abort(new TransportError(`${this.where}: connection closed`, "peer"));
      if (c.transport instanceof StreamableHTTPClientTransport) await withTimeout(c.transport.terminateSession().catch(() => {}), 1000);
      await c.client.close().catch(() => {});
    }
  }

  private async open(): Promise<Conn> {
    const first = await this.openMcp().catch((e: unknown) => e as Error);
    if (!(first instanceof Error)) return first;
    const f = classify(first, this.opts.timeoutMs);
    if (!f.tryPlain || this.opts.transport === "sse") throw new TransportError(`${f.message} (${this.where})`, "peer", { cause: first });
    // The SDK client cannot speak to a session-less lmcp host (no initialize, JSON answers only):
    // for those, a plain JSON-RPC POST of tools/list and tools/call is the protocol.
    try {
      await this.post("tools/list", {}, this.opts.timeoutMs);
    } catch (e) {
      const why = e instanceof TransportError ? e.message : (e as Error).message;
      throw new TransportError(`MCP handshake failed (${f.message}) and plain JSON-RPC failed (${why})`, "peer", { cause: e });
    }
    this.opts.log.info("peer speaks plain JSON-RPC (lmcp style)", { url: this.where, mcp_error: f.message });
    return { mode: "plain" };
  }

  private async openMcp(): Promise<Conn> {
    const transport = clientTransport(this.opts.url, this.headers, this.opts.transport);
    const mode = this.opts.transport === "sse" ? undefined : negotiation(this.opts.protocol);
    const client = new HerdClient({ name: "mcp-herd", version: VERSION }, { capabilities: CLIENT_CAPABILITIES, ...(mode ? { versionNegotiation: { mode } } : {}) });
    const target = wireClient(client, this.opts.hub, this.where, (method, params) => this.notificationHandlers.get(method)?.(params));
    const conn: Conn = { mode: "mcp", client, transport, pending: new Set(), target, subscriptions: new ListenSubscriptions(client, { log: this.opts.log, where: this.where }) };
    // The SDK leaves calls pending when an SSE response stream breaks (only onerror fires): end them here.
    client.onerror = (err) => {
      this.opts.log.debug("peer transport error", { url: this.where, error: err.message });
      // Errors of a POST are also thrown to its caller; only a broken response stream leaves calls hanging.
      // The stream may be the optional GET stream of a live server: end the calls only if the peer is gone.
      if (!/SSE stream disconnected|reconnect/i.test(err.message) || conn.pending.size === 0) return;
      void this.unreachable().then((why) => {
        if (!why) return;
        const reason = new TransportError(`connection lost (${why}) (${this.where})`, "peer", { cause: err });
        for (const ctrl of conn.pending) ctrl.abort(reason);
        void this.drop(conn);
      });
    };
    await client.connect(transport, { timeout: this.opts.timeoutMs, ...(mode && this.verdict ? { prior: this.verdict } : {}) });
    if (mode) {
      const discover = client.getDiscoverResult();
      this.verdict = discover ? { kind: "modern", discover } : { kind: "legacy" };
    }
    this.current = client;
    this.caps = client.getServerCapabilities();
    if (client.getProtocolEra() === "modern") {
      await conn.subscriptions.listenForChanges(this.opts.timeoutMs);
      // The resources subscribed on the connection that was lost are subscribed again on this one.
      conn.subscriptions.carry(this.carried.splice(0), this.opts.timeoutMs);
    }
    this.opts.hub?.attach(target);
    this.opts.log.debug("peer connected", { url: this.where, session: "sessionId" in transport && transport.sessionId ? "yes" : "none" });
    return conn;
  }

  /** Why the peer cannot be reached at all (refused, reset, silent), or undefined when it answers HTTP. */
  private async unreachable(): Promise<string | undefined> {
    try {
      const res = await fetch(this.opts.url, { method: "HEAD", signal: AbortSignal.timeout(Math.min(this.opts.timeoutMs, 3000)) });
      await res.body?.cancel();
      return undefined;
    } catch (e) {
      return classify(e, Math.min(this.opts.timeoutMs, 3000)).message;
    }
  }

  /** One plain JSON-RPC POST (lmcp hosts); every failure to get an answer is a TransportError. */
  private async post(method: string, params: Record<string, unknown>, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    const timer = AbortSignal.timeout(timeoutMs);
    const sig = signal ? AbortSignal.any([signal, timer]) : timer;
    const id = Math.floor(Math.random() * 1e9);
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.opts.url, {
        method: "POST",
        headers: { ...this.headers, "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
        signal: sig,
      });
      text = await res.text();
    } catch (e) {
      if (signal?.aborted) throw e;
      const f = classify(timer.aborted ? new SdkError(SdkErrorCode.RequestTimeout, "timeout") : e, timeoutMs);
      throw new TransportError(`${f.message} (${this.where})`, "peer", { cause: e });
    }
    if (res.status === 401 || res.status === 403) {
      throw new TransportError(`auth refused (HTTP ${res.status}): check the host's token (${this.where})`, "peer");
    }
    if (!res.ok) throw new TransportError(`HTTP ${res.status}: ${text.slice(0, 200)} (${this.where})`, "peer");
    const msg = parseAnswer(text, id);
    if (!msg) throw new TransportError(`not a JSON-RPC answer: ${text.slice(0, 200)} (${this.where})`, "peer");
    if (msg.error) throw new Error(`rpc error ${msg.error.code ?? ""}: ${msg.error.message ?? "unknown"}`);
    return msg.result;
  }

  /** What the peer declared in initialize (undefined before the first connect, and for plain JSON-RPC hosts). */
  serverCapabilities(): ServerCaps | undefined {
    return this.caps;
  }

  /** Calls `handler` for each notification `method` the peer sends, on this and every later connection. */
  onNotification(method: string, handler: (params: Record<string, unknown> | undefined) => void): void {
    this.notificationHandlers.set(method, handler);
  }

}

interface RpcAnswer {
  id?: unknown;
  result?: unknown;
  error?: { code?: number; message?: string };
}

/** A JSON body, or an SSE body whose data lines carry the answer (some servers stream even one answer). */
function parseAnswer(text: string, id: number): RpcAnswer | undefined {
  const candidates = /^\s*[[{]/.test(text)
    ? [text]
    : text.split(/\r?\n/).filter((l) => l.startsWith("data:")).map((l) => l.slice(5));
  for (const c of candidates) {
    try {
      const parsed = JSON.parse(c) as RpcAnswer | RpcAnswer[];
      for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
        if (m && typeof m === "object" && (m.id === id || m.id === undefined) && ("result" in m || "error" in m)) return m;
      }
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined;
}

/** The JSON-RPC error a 404 answer carried in its body (the SDK puts the body in the message), if any. */
function rpcErrorOf404(e: unknown): RemoteRpcError | undefined {
  if (!(e instanceof SdkHttpError) || e.status !== 404) return undefined;
  const at = e.message.indexOf("{");
  if (at < 0) return undefined;
  try {
    const body = JSON.parse(e.message.slice(at)) as { error?: { code?: unknown; message?: unknown; data?: unknown } };
    const err = body.error;
    if (typeof err?.code !== "number" || typeof err.message !== "string") return undefined;
    return new RemoteRpcError(err.code, err.message, err.data);
  } catch {
    return undefined;
  }
}

/** Why a request to a peer failed, in words, and what the router may do about it. */
function classify(e: unknown, timeoutMs: number): Failure {
  const base = { transport: false, tryPlain: false, staleSession: false };
  if (e instanceof TransportError) return { ...base, transport: true, message: e.message };
  if (e instanceof SdkHttpError) {
    const code = e.status ?? 0;
    if (code === 401 || code === 403) return { ...base, transport: true, message: `auth refused (HTTP ${code}): check the host's token` };
    if (code === 404) return { ...base, transport: true, tryPlain: true, staleSession: true, message: `HTTP 404 (session expired or wrong path)` };
    if (code >= 500) return { ...base, transport: true, message: `HTTP ${code}: ${e.message.slice(0, 200)}` };
    return { ...base, transport: true, tryPlain: true, message: e.message.slice(0, 200) };
  }
  if (e instanceof SdkError) {
    if (e.code === SdkErrorCode.RequestTimeout) return { ...base, transport: true, message: `no answer within ${timeoutMs / 1000}s` };
    if (e.code === SdkErrorCode.ConnectionClosed) return { ...base, transport: true, message: "connection closed" };
    if (String(e.code).startsWith("CLIENT_HTTP")) return { ...base, transport: true, tryPlain: true, message: e.message.slice(0, 200) };
  }
  if (e instanceof ProtocolError || e instanceof SdkError) return { ...base, tryPlain: true, message: e.message };
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError") return { ...base, transport: true, message: `no answer within ${timeoutMs / 1000}s` };
  if (err?.cause?.code || (err instanceof TypeError && /fetch failed/.test(err.message))) {
    return { ...base, transport: true, message: err.cause?.message ?? err.message };
  }
  return { ...base, tryPlain: true, message: err?.message ?? String(e) };
}

function negotiation(protocol: ProtocolChoice | undefined): VersionNegotiationMode | undefined {
  if (protocol === "auto") return "auto";
  if (protocol === "2026-07-28") return { pin: protocol };
  return undefined;
}

/** The SDK client transport for a URL: streamable HTTP, or the legacy HTTP+SSE one a client config asked for. */
function clientTransport(url: string, headers: Record<string, string>, kind: PeerOptions["transport"]): ClientTransport {
  if (kind === "sse") return new SSEClientTransport(new URL(url), { requestInit: { headers } });
  return new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers },
    reconnectionOptions: { initialReconnectionDelay: 500, maxReconnectionDelay: 2000, reconnectionDelayGrowFactor: 2, maxRetries: 1 },
  });
}

/** The URL without credentials or query, safe for logs and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(invalid url)";
  }
}

async function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}
