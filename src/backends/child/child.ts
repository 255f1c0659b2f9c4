import { existsSync, statSync } from "node:fs";
import { ProtocolError, type PriorDiscovery, type RequestOptions, type VersionNegotiationOptions } from "@modelcontextprotocol/client";
import type { ProtocolChoice } from "../../config.js";
import type { Logger } from "../../log.js";
import { VERSION } from "../../version.js";
import { TransportError, errorResult, type Backend, type CallOptions, type ServerIdentity, type ToolInfo, type ToolResult } from "../backend.js";
import type { HubTarget, ServiceHub } from "../mcp/client-link.js";
import { HerdClient } from "../mcp/herd-client.js";
import { ChildTransport, type ExitInfo } from "./transport.js";
import { CLIENT_CAPABILITIES, forward, identityOf, LooseResult, remoteError, wireClient, type ForwardOptions } from "../mcp/passthrough.js";
import type { ServerCaps } from "../mcp/channel.js";
import { ListenSubscriptions } from "../listen-subscriptions.js";

export type { ExitInfo } from "./transport.js";

export interface ChildBackendOptions {
  /** Service name, for error messages. */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  /** The complete environment of the child (see childEnv). */
  env: Record<string, string>;
  log: Logger;
  onLog(stream: "stderr" | "stdout", line: string): void;
  /** The last stderr lines, quoted in crash messages. */
  stderrTail(): string[];
  /** Fires once when the process exits, whether we stopped it or not. */
  onExit?(info: ExitInfo): void;
  onToolsChanged?(): void;
  /** Routes the child's own requests to client sessions and fans out its notifications. */
  hub?: ServiceHub;
  handshakeTimeoutMs?: number;
  killGraceMs?: number;
  maxLineBytes?: number;
  /** The era to speak: legacy (initialize) by default; "auto" probes the child itself with server/discover. */
  protocol?: ProtocolChoice;
  /** The verdict of an earlier run of the same service: no probe this time. */
  prior?: EraVerdict;
}

/** Which era a child spoke at its handshake, as the SDK takes it back (`prior`) to skip the probe. */
export type EraVerdict = PriorDiscovery;

const DEFAULT_CALL_TIMEOUT_MS = 60_000;
const MAX_PAGES = 100;

/** Describes an exit as people read it: "exit code 1" or "signal SIGKILL". */
export function describeExit(info: ExitInfo | undefined): string {
  if (!info) return "unknown exit";
  if (info.signal) return `signal ${info.signal}`;
  if (info.code !== null) return `exit code ${info.code}`;
  return "could not be started";
}

/** A stdio child MCP server reached through the SDK Client over our process-group transport. */
export class ChildBackend implements Backend {
  readonly kind = "child" as const;
  private readonly client: HerdClient;
  private readonly transport: ChildTransport;
  private inFlight = 0;
  private readonly target: HubTarget;
  // Notifications followed by the catalog (resources, prompts); the hub sees every notification as well.
  private readonly listeners = new Map<string, Set<(params: Record<string, unknown> | undefined) => void>>();
  private readonly subscriptions: ListenSubscriptions;
  /** The era found at connect() when the service said "auto" or pinned one; undefined for legacy services. */
  verdict: EraVerdict | undefined;
  /** True when connect() failed because the child exited on the server/discover probe ("auto"): start it again as legacy. */
  exitedOnProbe = false;

  private constructor(private readonly opts: ChildBackendOptions) {
    this.transport = new ChildTransport({
      command: opts.command,
      args: opts.args,
      cwd: opts.cwd,
      env: opts.env,
      onLog: opts.onLog,
      onExit: (info) => opts.onExit?.(info),
      killGraceMs: opts.killGraceMs,
      maxLineBytes: opts.maxLineBytes,
    });
    // HerdClient: a 2026-07-28 child's input_required rounds reach the hub as a 2025 child's pushed requests do.
    this.client = new HerdClient({ name: "mcp-herd", version: VERSION }, { capabilities: CLIENT_CAPABILITIES, ...negotiation(opts.protocol, opts.handshakeTimeoutMs ?? 30_000) });
    this.subscriptions = new ListenSubscriptions(this.client, { log: opts.log, where: `service ${opts.name}` });
    this.target = wireClient(this.client, opts.hub, opts.name, (method, params) => {
      for (const h of this.listeners.get(method) ?? []) h(params);
    });
    this.client.setNotificationHandler("notifications/tools/list_changed", (n) => {
      opts.onToolsChanged?.();
      opts.hub?.notified(n.method, n.params);
    });
  }

  /** A backend for one child; nothing runs until connect(). */
  static create(opts: ChildBackendOptions): ChildBackend {
    return new ChildBackend(opts);
  }

  /** Spawns the child and completes `initialize`; throws TransportError naming the service and why. */
  async connect(): Promise<void> {
    const opts = this.opts;
    if (opts.cwd !== undefined && !(existsSync(opts.cwd) && statSync(opts.cwd).isDirectory())) {
      throw new TransportError(`service '${opts.name}': working folder ${opts.cwd} does not exist`, "child");
    }
    const timeout = opts.handshakeTimeoutMs ?? 30_000;
    const probing = negotiation(opts.protocol, timeout).versionNegotiation !== undefined;
    try {
      await this.client.connect(this.transport, { timeout, maxTotalTimeout: timeout, ...(probing && opts.prior ? { prior: opts.prior } : {}) });
      if (probing) {
        const discover = this.client.getDiscoverResult();
        this.verdict = discover ? { kind: "modern", discover } : { kind: "legacy" };
      }
      if (this.client.getProtocolEra() === "modern") await this.subscriptions.listenForChanges(timeout);
      this.opts.hub?.attach(this.target);
    } catch (e) {
      // A child built on an SDK that exits on any request before initialize is a legacy server.
      this.exitedOnProbe = opts.protocol === "auto" && !opts.prior && PROBE_CLOSED.test((e as Error).message ?? "");
      // The SDK closes the transport itself when negotiation fails: its reason beats "exited".
      const negotiationFailed = probing && !this.exitedOnProbe && /version negotiation/i.test((e as Error).message ?? "");
      const err = negotiationFailed
        ? new TransportError(`service '${opts.name}': ${(e as Error).message}`, "child", { cause: e })
        : this.explain(e, probing ? "during server/discover or initialize" : "during initialize", timeout);
      await this.close();
      throw err;
    }
  }

  /** create() + connect(). */
  static async start(opts: ChildBackendOptions): Promise<ChildBackend> {
    const b = new ChildBackend(opts);
    await b.connect();
    return b;
  }

  get pid(): number | undefined {
    return this.transport.pid;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.transport.exitInfo;
  }

  /** SIGKILL when close() had to escalate because the tree ignored SIGTERM for the grace period. */
  get killedWith(): "SIGTERM" | "SIGKILL" | undefined {
    return this.transport.killedWith;
  }

  /** When the child last wrote to stdout (epoch ms): one that writes is alive, however late its answers. */
  get lastOutputAt(): number {
    return this.transport.lastOutputAt;
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  async listTools(opts: { timeoutMs?: number } = {}): Promise<ToolInfo[]> {
    const tools: ToolInfo[] = [];
    let cursor: string | undefined;
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const r = await this.client.listTools(cursor ? { cursor } : undefined, { timeout: opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS });
        tools.push(...r.tools);
        cursor = r.nextCursor;
        if (!cursor) break;
      }
    } catch (e) {
      throw this.explain(e, "during tools/list", opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    }
    return tools;
  }

  async callTool(name: string, args: Record<string, unknown>, opts: CallOptions = {}): Promise<ToolResult> {
    const timeout = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.inFlight++;
    try {
      const onProgress = opts.onProgress;
      const options: RequestOptions = { timeout, signal: opts.signal };
      if (onProgress) {
        options.resetTimeoutOnProgress = true;
        options.onprogress = (p) => onProgress({ progress: p.progress, total: p.total, message: p.message });
      }
      // The result goes on as it came: the server that hands it to the end client validates it once (the SDK's Server does).
      const call = () => this.client.request({ method: "tools/call", params: { name, arguments: args } }, LooseResult, options);
      const result = (this.opts.hub ? await this.opts.hub.during(opts.client, call) : await call()) as ToolResult;
      // What CallToolResult's schema would default, kept for our own callers (service_call's audit, the text of errors).
      if (result.content === undefined) result.content = [];
      return result;
    } catch (e) {
      if (opts.signal?.aborted) throw new TransportError(`service '${this.opts.name}': call to '${name}' was cancelled`, "child", { cause: e });
      // The child's own JSON-RPC error (timeouts and a closed connection are SdkErrors, not ProtocolErrors).
      if (e instanceof ProtocolError && !this.transport.exitInfo) {
        return errorResult(`service '${this.opts.name}': tool '${name}' failed: ${e.message}`);
      }
      throw this.explain(e, `during the call to '${name}'`, timeout);
    } finally {
      this.inFlight--;
    }
  }

  /** Forwards any MCP request to the child; its result (or its own JSON-RPC error) is handed on untouched. */
  async request(method: string, params: Record<string, unknown> | undefined, opts: ForwardOptions = {}): Promise<Record<string, unknown>> {
    const timeout = opts.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.inFlight++;
    try {
      const run = () =>
        this.subscriptions.handles(method) ? this.subscriptions.request(method, params, timeout) : forward(this.client, method, params, { ...opts, timeoutMs: timeout });
      return this.opts.hub ? await this.opts.hub.during(opts.client, run) : await run();
    } catch (e) {
      const own = remoteError(e);
      if (own && !this.transport.exitInfo) throw own;
      if (opts.signal?.aborted) throw new TransportError(`service '${this.opts.name}': ${method} was cancelled`, "child", { cause: e });
      throw this.explain(e, `during ${method}`, timeout);
    } finally {
      this.inFlight--;
    }
  }

  /** The era the child speaks, once initialized. */
  era(): "legacy" | "modern" | undefined {
    return this.client.getServerVersion() ? this.client.getProtocolEra() : undefined;
  }

  /** Who the child said it is at initialize; undefined before. */
  identity(): ServerIdentity | undefined {
    return identityOf(this.client);
  }

  /** Sends a ping; throws when no answer comes within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<void> {
    try {
      await this.client.ping({ timeout: timeoutMs, maxTotalTimeout: timeoutMs });
    } catch (e) {
      throw this.explain(e, "to a ping", timeoutMs);
    }
  }

  /** Stops the whole process tree; resolves once it is gone (bounded by the kill grace + 2 s). */
  async close(): Promise<void> {
    this.opts.hub?.detach(this.target);
    void this.subscriptions.stop();
    await this.transport.kill();
    await this.client.close().catch(() => {});
  }

  /** Turns an SDK failure into a message naming the service, the exit and the stderr tail. */
  private explain(e: unknown, when: string, timeoutMs: number): TransportError {
    const name = this.opts.name;
    const exit = this.transport.exitInfo;
    const err = e as Error & { code?: unknown };
    if (err instanceof TransportError) return err;
    if (exit) {
      const spawnError = (err as NodeJS.ErrnoException).code === "ENOENT" || /ENOENT|EACCES/.test(err.message ?? "");
      const head = spawnError
        ? `service '${name}': cannot start '${this.opts.command}': ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "command not found (check the path or PATH)" : err.message}`
        : `service '${name}' exited (${describeExit(exit)}) ${when}`;
      return new TransportError(head + tailText(this.opts.stderrTail()), "child", { cause: e });
    }
    // Killed a moment ago: the write to its stdin fails before its exit is seen.
    if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") {
      return new TransportError(`service '${name}' is gone ${when}: its stdin is closed (${err.message}), the process exited or closed it` + tailText(this.opts.stderrTail()), "child", { cause: e });
    }
    if (err.code === -32001 || /timed out/i.test(err.message ?? "")) {
      return new TransportError(`service '${name}' did not answer ${when} within ${timeoutMs} ms` + tailText(this.opts.stderrTail()), "child", { cause: e });
    }
    return new TransportError(`service '${name}' failed ${when}: ${err.message ?? String(e)}`, "child", { cause: e });
  }

  /** What the child declared in initialize; undefined before the handshake. */
  serverCapabilities(): ServerCaps | undefined {
    return this.client.getServerCapabilities();
  }

  /** Calls `handler` for each notification `method` the child sends (resources/updated, list_changed, ...). */
  onNotification(method: string, handler: (params: Record<string, unknown> | undefined) => void): void {
    const set = this.listeners.get(method) ?? new Set();
    set.add(handler);
    this.listeners.set(method, set);
  }
}

function tailText(lines: string[]): string {
  return lines.length ? `; last stderr lines:\n${lines.join("\n")}` : "; it wrote nothing to stderr";
}

// What the SDK says when the connection closed while the probe waited for its answer (two wordings, by path).
const PROBE_CLOSED = /closed during the (?:version negotiation|server\/discover) probe/i;

// "auto" probes with a bound of its own: on stdio a silent probe means a legacy child, which then gets initialize.
function negotiation(protocol: ProtocolChoice | undefined, timeoutMs: number): { versionNegotiation?: VersionNegotiationOptions } {
  if (protocol === "auto") return { versionNegotiation: { mode: "auto", probe: { timeoutMs: Math.min(10_000, Math.ceil(timeoutMs / 3)) } } };
  if (protocol === "2026-07-28") return { versionNegotiation: { mode: { pin: protocol } } };
  return {};
}
