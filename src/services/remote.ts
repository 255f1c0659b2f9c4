import { TransportError, resultText, type Backend, type CallOptions, type ServerIdentity, type ToolInfo, type ToolResult } from "../backends/backend.js";
import { ServiceHub } from "../backends/mcp/client-link.js";
import { isMcpChannel, type McpChannel, type ServerCaps } from "../backends/mcp/channel.js";
import type { ServiceSpec } from "../config.js";
import type { Logger } from "../log.js";
import { FORWARDED_NOTIFICATIONS } from "./launch.js";
import type { LogLine } from "./logs.js";
import { remoteTools, specForPeer, stripToolPrefix } from "./remote-wire.js";
import { whyNotRunning } from "./service-status.js";
import {
  ServiceError,
  type EmitEvent,
  type ServiceInfo,
  type ServiceState,
  type Supervised,
  type SupervisorTiming,
} from "./service-types.js";

export interface RemoteDeps {
  host: string;
  /** The host's mcp-herd peer (its own service_* tools run the service there). */
  peer: Backend;
  timing: SupervisorTiming;
  log: Logger;
  onChange(): void;
  emit: EmitEvent;
  /** The service as itself on its host's mcp-herd (/services/<name>/mcp): its resources, prompts and any other request go there. */
  endpoint?: (hub: ServiceHub) => Backend | undefined;
  /** The service's notifications (list changes, resource updates) from that endpoint. */
  onNotification?(method: string, params: Record<string, unknown> | undefined): void;
}

/** Checks of an unreachable host come at least this often, so a service answers soon after its host is back. */
const UNREACHABLE_POLL_MS = 5_000;
const CALL_MARGIN_MS = 10_000;

/** A service run by another host's mcp-herd: loaded, called, listed and unloaded through that peer's service_* tools. */
export class RemoteService implements Supervised {
  readonly host: string;
  state: ServiceState = "starting";
  tools: ToolInfo[] = [];
  private remote?: ServiceInfo;
  private remoteAt = 0;
  private error?: string;
  private first = true;
  private endpointUp = false;
  private removing = false;
  private stopped = false;
  private polling = false;
  private pollTimer?: NodeJS.Timeout;
  private readonly abort = new AbortController();
  /** Routes the service's own requests (roots, sampling, ...) to our client sessions, as for a local service. */
  readonly hub: ServiceHub;
  private readonly endpoint?: Backend & McpChannel;

  constructor(
    readonly name: string,
    readonly spec: ServiceSpec,
    private readonly deps: RemoteDeps,
  ) {
    this.host = deps.host;
    this.hub = new ServiceHub(name);
    const endpoint = deps.endpoint?.(this.hub);
    if (isMcpChannel(endpoint)) {
      this.endpoint = endpoint;
      for (const method of FORWARDED_NOTIFICATIONS) endpoint.onNotification(method, (params) => this.deps.onNotification?.(method, params));
    }
  }

  /** Forwards any MCP request to the service's endpoint on its host; refuses at once with the reason when it is not running. */
  async request(method: string, params: Record<string, unknown> | undefined, opts: CallOptions = {}): Promise<Record<string, unknown>> {
    if (this.state !== "running") throw new ServiceError(this.whyNotRunning());
    if (!this.endpoint) throw new ServiceError(`service '${this.name}' on host '${this.host}' serves tools only here: ${method} cannot be forwarded`);
    try {
      return await this.endpoint.request(method, params, { timeoutMs: this.deps.timing.callMs, ...opts });
    } catch (e) {
      if (e instanceof TransportError) throw new ServiceError(`on host '${this.host}': ${method} failed: ${e.message.split("\n")[0]}`);
      throw e;
    }
  }

  identity(): ServerIdentity | undefined {
    return this.state === "running" && this.endpointUp ? this.endpoint?.identity?.() : undefined;
  }

  get capabilities(): ServerCaps | undefined {
    return this.state === "running" && this.endpointUp ? this.endpoint?.serverCapabilities() : undefined;
  }

  get restarts(): number {
    return this.remote?.restarts ?? 0;
  }

  /** The pid on its host. */
  get pid(): number | null {
    return this.remote?.pid ?? null;
  }

  get preemptible(): boolean {
    return this.first && !this.stopped;
  }

  /** Loads it on the peer (or, at start-up, adopts one already there); an unreachable host at start-up is kept and polled. */
  async start(onPhase?: (message: string) => void, opts: { adopt?: boolean } = {}): Promise<void> {
    this.setState(opts.adopt ? "starting" : "installing");
    try {
      const adopted = opts.adopt && (await this.adopt());
      if (!adopted) await this.loadThere(onPhase);
    } catch (e) {
      if (this.stopped) throw new ServiceError(`service '${this.name}' was stopped (unloaded or replaced) before it was running`);
      if (e instanceof TransportError && opts.adopt) {
        this.markUnreachable(e.message);
        this.schedulePoll();
        return;
      }
      const err = e instanceof TransportError ? new ServiceError(this.unreachableText(e.message)) : (e as Error);
      this.error = err.message;
      this.deps.emit("error", `failed to start on host '${this.host}': ${err.message.split("\n")[0]}`, { host: this.host });
      this.setState("failed");
      throw err;
    } finally {
      this.first = false;
    }
    this.schedulePoll();
  }

  async restart(): Promise<void> {
    const r = await this.peerCall("service_restart", { name: this.name }, { timeoutMs: this.loadBoundMs() });
    if (r.isError) throw new ServiceError(`on host '${this.host}': ${resultText(r)}`);
    this.accept(r.structuredContent as unknown as ServiceInfo);
    await this.fetchTools();
    this.error = undefined;
    this.setState(this.remote?.status ?? "running");
    this.deps.onChange();
  }

  /** Lets go here (mcp-herd is shutting down or replacing it); the service keeps running on its host. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new ServiceError(`service '${this.name}' was stopped`));
    await this.endpoint?.close().catch(() => undefined);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.setState("stopped");
  }

  /** Unloads it on its host; an unreachable host keeps it listed (not lost) and says so. */
  async remove(): Promise<void> {
    // A check in flight that finds it gone meanwhile must not load it there again.
    this.removing = true;
    try {
      const r = await this.peerCall("service_unload", { name: this.name }, { timeoutMs: this.deps.timing.handshakeMs });
      if (r.isError && !/no service named/.test(resultText(r))) throw new ServiceError(`on host '${this.host}': ${resultText(r)}`);
    } catch (e) {
      this.removing = false;
      throw e;
    }
    await this.stop();
  }

  /** Forwards the call to the peer's service_call; the peer refuses with its own reason when the service is not running. */
  async call(tool: string, args: Record<string, unknown>, opts: CallOptions = {}): Promise<ToolResult> {
    if (this.state === "failed" || this.state === "stopped") throw new ServiceError(this.whyNotRunning());
    const idle = opts.timeoutMs ?? this.deps.timing.callMs;
    const wasUnreachable = this.state === "unreachable";
    const r = await this.peerCall(
      "service_call",
      { name: this.name, tool, arguments: args, ...(opts.timeoutMs !== undefined ? { timeout_ms: opts.timeoutMs } : {}) },
      { signal: opts.signal, onProgress: opts.onProgress, timeoutMs: idle + CALL_MARGIN_MS },
    );
    if (wasUnreachable) this.checkNow();
    return r;
  }

  async readLogs(lines: number, since?: string, stream?: LogLine["stream"]): Promise<LogLine[]> {
    const r = await this.peerCall("service_logs", { name: this.name, lines, ...(since ? { since } : {}), ...(stream ? { stream } : {}) }, { timeoutMs: this.deps.timing.pingTimeoutMs });
    if (r.isError) throw new ServiceError(`on host '${this.host}': ${resultText(r)}`);
    return ((r.structuredContent as { lines?: LogLine[] } | undefined)?.lines ?? []).map((l) => ({ time: l.time, stream: l.stream, text: l.text }));
  }

  info(): ServiceInfo {
    const r = this.remote;
    const running = this.state === "running";
    const uptime = running && r?.uptime_s != null ? r.uptime_s + Math.round((Date.now() - this.remoteAt) / 1000) : null;
    return {
      name: this.name,
      host: this.host,
      status: this.state,
      ...(r?.source ? { source: r.source } : {}),
      ...(r?.detail ? { detail: r.detail } : {}),
      pid: r?.pid ?? null,
      uptime_s: uptime,
      restarts: r?.restarts ?? 0,
      last_exit: r?.last_exit ?? null,
      error: this.state === "unreachable" || this.state === "failed" ? (this.error ?? null) : (r?.error ?? null),
      install_ms: r?.install_ms ?? null,
      handshake_ms: r?.handshake_ms ?? null,
      tool_count: this.tools.length,
      tools: this.tools.map((t) => ({ name: t.name, description: t.description ?? "" })),
    };
  }

  whyNotRunning(): string {
    return whyNotRunning({ name: this.name, host: this.host, state: this.state, error: this.error, lastExit: this.remote?.last_exit ?? undefined });
  }

  private async loadThere(onPhase?: (message: string) => void): Promise<void> {
    const r = await this.peerCall("service_load", { name: this.name, ...specForPeer(this.spec) }, {
      signal: this.abort.signal,
      timeoutMs: this.loadBoundMs(),
      onProgress: (p) => p.message && onPhase?.(`${this.host}: ${p.message}`),
    });
    if (r.isError) throw new ServiceError(explainLoadFailure(this.host, this.name, resultText(r)));
    this.accept(r.structuredContent as unknown as ServiceInfo);
    await this.fetchTools();
    this.deps.emit("info", `started on host '${this.host}': pid ${this.pid ?? "-"}, ${this.tools.length} tool(s)`, { host: this.host, pid: this.pid, tools: this.tools.length });
    this.setState(this.remote?.status ?? "running");
  }

  /** At start-up: keeps the service if its host already runs it (nothing restarted). */
  private async adopt(): Promise<boolean> {
    const r = await this.peerCall("service_list", { name: this.name }, { timeoutMs: this.deps.timing.handshakeMs });
    if (r.isError) return false;
    const info = (r.structuredContent as { services?: ServiceInfo[] } | undefined)?.services?.[0];
    if (!info) return false;
    this.accept(info);
    await this.fetchTools();
    this.setState(info.status);
    return true;
  }

  private async fetchTools(): Promise<void> {
    const r = await this.peerCall("service_tools", { name: this.name, limit: 1000 }, { timeoutMs: this.deps.timing.handshakeMs });
    if (!r.isError) {
      this.tools = remoteTools(r.structuredContent);
      return;
    }
    // A peer without service_tools: its proxied tools carry the schemas.
    this.tools = stripToolPrefix(this.name, await this.deps.peer.listTools());
  }

  private accept(info: ServiceInfo | undefined): void {
    if (!info || typeof info !== "object") return;
    this.remote = info;
    this.remoteAt = Date.now();
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    const every = this.state === "unreachable" ? Math.min(UNREACHABLE_POLL_MS, this.deps.timing.pingIntervalMs) : this.deps.timing.pingIntervalMs;
    this.pollTimer = setTimeout(() => void this.poll().finally(() => this.schedulePoll()), every);
    this.pollTimer.unref?.();
  }

  private checkNow(): void {
    void this.poll();
  }

  /** Asks the peer how the service is; an unanswered peer marks it unreachable, a peer that lost it gets it loaded again. */
  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
    this.polling = true;
    const wasUnreachable = this.state === "unreachable";
    try {
      const r = await this.peerCall("service_list", { name: this.name }, { timeoutMs: this.deps.timing.pingTimeoutMs });
      if (this.stopped) return;
      if (r.isError) {
        if (!/no service named/.test(resultText(r)) || this.removing) return;
        this.deps.emit("warning", `host '${this.host}' no longer runs it; loading it there again`, { host: this.host });
        await this.loadThere();
      } else {
        const info = (r.structuredContent as { services?: ServiceInfo[] } | undefined)?.services?.[0];
        const before = this.tools.map((t) => t.name).join(",");
        this.accept(info);
        if (wasUnreachable || info?.tools.map((t) => t.name).join(",") !== before) await this.fetchTools();
        this.setState(info?.status ?? "running");
      }
      if (wasUnreachable) {
        this.error = undefined;
        this.deps.emit("info", `host '${this.host}' answers again: ${this.state}, ${this.tools.length} tool(s)`, { host: this.host });
      }
    } catch (e) {
      if (this.stopped) return;
      if (e instanceof TransportError) this.markUnreachable(e.message);
      else this.deps.log.warn("remote service check failed", { service: this.name, host: this.host, error: (e as Error).message });
    } finally {
      this.polling = false;
    }
  }

  private markUnreachable(reason: string): void {
    this.error = `host '${this.host}' does not answer (${reason.split("\n")[0]})`;
    if (this.state === "unreachable") return;
    this.deps.emit("warning", `unreachable: ${this.error}; kept, and served again when the host is back`, { host: this.host });
    this.setState("unreachable");
  }

  /** A call to the peer; a transport failure marks the service unreachable and is thrown as a clear ServiceError. */
  private async peerCall(tool: string, args: Record<string, unknown>, opts: CallOptions): Promise<ToolResult> {
    try {
      return await this.deps.peer.callTool(tool, args, opts);
    } catch (e) {
      if (e instanceof TransportError && !opts.signal?.aborted && tool !== "service_load" && tool !== "service_list") {
        this.markUnreachable(e.message);
        throw new ServiceError(this.whyNotRunning());
      }
      throw e;
    }
  }

  private unreachableText(reason: string): string {
    return (
      `host '${this.host}' cannot be reached through its mcp-herd peer (${reason.split("\n")[0]}). ` +
      `Check that mcp-herd runs there with --http --peer and that the token in the host's peer config matches`
    );
  }

  private loadBoundMs(): number {
    return this.deps.timing.installMs + (this.spec.timeout_ms ?? this.deps.timing.handshakeMs);
  }

  private setState(s: ServiceState): void {
    if (this.state === s) return;
    this.state = s;
    if (s !== "running") this.endpointUp = false;
    this.deps.onChange();
    if (s === "running" && !this.endpointUp) void this.openEndpoint();
  }

  // Connects to the service's endpoint on its host (bounded by the peer timeout); once it answers, its capabilities
  // are known and the change is announced (the catalog then lists its resources and prompts).
  private async openEndpoint(): Promise<void> {
    if (!this.endpoint) return;
    try {
      await this.endpoint.request("ping", undefined, { timeoutMs: this.deps.timing.handshakeMs });
    } catch (e) {
      this.deps.log.warn("the service's endpoint on its host does not answer: its resources and prompts are not served", {
        service: this.name,
        host: this.host,
        error: (e as Error).message.split("\n")[0],
      });
      return;
    }
    if (this.state !== "running" || this.endpointUp) return;
    this.endpointUp = true;
    this.deps.onChange();
  }
}

function explainLoadFailure(host: string, name: string, text: string): string {
  if (/tool\b.*\bservice_load\b.*not found|unknown tool/i.test(text)) {
    return `the peer of host '${host}' has no service_load: it is not an mcp-herd. Services on other hosts need mcp-herd running there with --http --peer`;
  }
  return `on host '${host}': ${text.replace(new RegExp(`^service_load '${name}' failed: `), "")}`;
}
