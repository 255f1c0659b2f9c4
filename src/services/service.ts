import { TransportError, type CallOptions, type ServerIdentity, type ToolInfo, type ToolResult } from "../backends/backend.js";
import { describeExit, type ChildBackend, type EraVerdict, type ExitInfo } from "../backends/child/child.js";
import { ServiceHub } from "../backends/mcp/client-link.js";
import { childEnv } from "../backends/child/env.js";
import { isMcpChannel, type ServerCaps } from "../backends/mcp/channel.js";
import type { ServiceSpec } from "../config.js";
import type { Logger } from "../log.js";
import { launchService, withDeadline, type Live } from "./launch.js";
import { LogRing, type LogLine } from "./logs.js";
import { RestartPolicy } from "./restart-policy.js";
import { whyNotRunning } from "./service-status.js";
import {
  ServiceError,
  type EmitEvent,
  type LastExit,
  type ServiceInfo,
  type ServiceState,
  type Supervised,
  type SupervisorTiming,
} from "./service-types.js";
import type { Launch, PrepareSource, SourceKind } from "./types.js";
import { SpecError } from "./validate.js";

export { DEFAULT_TIMING, ServiceError, type ServiceInfo, type ServiceState, type SupervisorTiming } from "./service-types.js";

export interface ServiceDeps {
  prepare: PrepareSource;
  stateDir: string;
  log: Logger;
  timing: SupervisorTiming;
  /** mcp-herd's own secret values (token, peer tokens): never passed to a child. */
  secrets: string[];
  baseEnv: NodeJS.ProcessEnv;
  /** State or tool list changed. */
  onChange(): void;
  /** Operator events: started, crashed, restarting, gave up, failed. */
  emit: EmitEvent;
  /** A notification the catalog follows (resources updated, list changes), from the current run. */
  onNotification?(method: string, params: Record<string, unknown> | undefined): void;
}

/** One supervised MCP server on this machine: prepare, handshake, serve calls, restart on crash or hang, stop. */
export class Service implements Supervised {
  readonly host = "local";
  state: ServiceState = "installing";
  readonly logs = new LogRing(1000);
  readonly hub: ServiceHub;
  tools: ToolInfo[] = [];
  restarts = 0;
  lastExit?: LastExit;
  error?: string;
  private launch?: Launch;
  // A local service's era ("protocol": "auto" or pinned) as its last run found it: kept across the restarts
  // after a crash (the same program), forgotten at service_restart and when a start fails.
  private verdict?: EraVerdict;
  private source?: SourceKind;
  private detail?: string;
  private installMs?: number;
  private handshakeMs?: number;
  private live?: Live;
  private pending?: ChildBackend;
  private gen = 0;
  /** Bumped by every stop/halt: a start that began before it no longer owns the state. */
  private epoch = 0;
  private runningSince?: number;
  /** When the current (or last) process was started: its stderr is what crash messages quote. */
  private runStartedAt = 0;
  private readonly policy: RestartPolicy;
  private nextAttemptAt?: number;
  private restartTimer?: NodeJS.Timeout;
  private pingTimer?: NodeJS.Timeout;
  private pinging = false;
  /** When the child last answered anything (a ping, a call, a progress update): a busy child is not hung. */
  private lastHeardAt = 0;
  /** Why the run of generation `gen` was ended by us (hung, stdout closed): calls cut off with it say so. */
  private ended?: { gen: number; reason: string };
  private inFlight = 0;
  private abort = new AbortController();
  private stopping?: Promise<void>;
  private launchedOnce = false;
  private onPhase?: (message: string) => void;

  constructor(
    readonly name: string,
    readonly spec: ServiceSpec,
    private readonly deps: ServiceDeps,
  ) {
    this.policy = new RestartPolicy(deps.timing);
    this.hub = new ServiceHub(name, (line) => this.logs.push("mcp", line));
    this.logs.setSecrets(Object.values(spec.env ?? {}));
  }

  /** First start: prepare (install) then handshake; throws with a clear message and leaves the state `failed`. */
  async start(onPhase?: (message: string) => void, opts: { reuseClone?: boolean } = {}): Promise<void> {
    this.refuseIfStopped();
    const epoch = this.epoch;
    this.onPhase = onPhase;
    this.setState("installing");
    try {
      const t = this.deps.timing;
      const prepared = await this.deps.prepare(this.name, this.spec, {
        stateDir: this.deps.stateDir,
        installTimeoutMs: t.installMs,
        signal: this.abort.signal,
        onPhase: (phase, detail) => this.phase(detail ? `${phase}: ${detail}` : phase),
        log: this.deps.log,
        ...(opts.reuseClone ? { reuseClone: true } : {}),
      });
      if (epoch !== this.epoch) throw new ServiceError(`service '${this.name}' was stopped while installing`);
      this.launch = prepared.launch;
      this.source = prepared.source;
      this.detail = prepared.detail;
      this.installMs = prepared.install_ms;
      await this.spawn("starting");
    } catch (e) {
      if (epoch !== this.epoch) throw new ServiceError(`service '${this.name}' was stopped (unloaded or replaced) before it was running`);
      this.fail(e);
      throw e;
    } finally {
      this.onPhase = undefined;
    }
  }

  /** Manual restart: stops what runs, forgets the crash history, starts again (re-installing only if it never installed). */
  async restart(): Promise<void> {
    this.refuseIfStopped();
    await this.halt();
    this.refuseIfStopped();
    this.policy.reset();
    this.error = undefined;
    this.restarts++;
    // An operator's restart may follow an upgrade of the service: its era is probed again.
    this.verdict = undefined;
    if (!this.launch) return this.start();
    const epoch = this.epoch;
    try {
      await this.spawn("starting");
    } catch (e) {
      if (epoch === this.epoch) this.fail(e);
      throw e;
    }
  }

  /** Stops the service and its whole process tree, for good: a stopped service never spawns again. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.abort.abort(new ServiceError(`service '${this.name}' was stopped`));
      await this.halt();
      this.setState("stopped");
    })());
  }

  remove(): Promise<void> {
    return this.stop();
  }

  get preemptible(): boolean {
    return this.state === "installing" || (this.state === "starting" && !this.launchedOnce);
  }

  /** Calls one of the service's tools; refuses at once with the reason when it is not running. */
  async call(tool: string, args: Record<string, unknown>, opts: CallOptions = {}): Promise<ToolResult> {
    const live = this.live;
    if (this.state !== "running" || !live) throw new ServiceError(this.whyNotRunning());
    const gen = this.gen;
    const onProgress = opts.onProgress;
    this.inFlight++;
    try {
      const result = await live.backend.callTool(tool, args, {
        timeoutMs: this.deps.timing.callMs,
        ...opts,
        ...(onProgress ? { onProgress: (p) => ((this.lastHeardAt = Date.now()), onProgress(p)) } : {}),
      });
      if (gen === this.gen) this.lastHeardAt = Date.now();
      return result;
    } catch (e) {
      // A remote server that stopped answering is checked now rather than at the next ping.
      if (e instanceof TransportError && !live.child && !opts.signal?.aborted) this.checkNow();
      if (e instanceof TransportError && this.ended?.gen === gen) {
        throw new TransportError(`service '${this.name}' was killed because it ${this.ended.reason}; the call to '${tool}' ended with it. ${this.whyNotRunning()}`, "child", { cause: e });
      }
      throw e;
    } finally {
      this.inFlight--;
    }
  }

  /** Forwards any MCP request to the running server; refuses at once with the reason when it is not running. */
  async request(method: string, params: Record<string, unknown> | undefined, opts: CallOptions = {}): Promise<Record<string, unknown>> {
    const live = this.live;
    if (this.state !== "running" || !live) throw new ServiceError(this.whyNotRunning());
    if (!live.backend.request) throw new ServiceError(`service '${this.name}' serves tools only: ${method} cannot be forwarded`);
    this.inFlight++;
    try {
      return await live.backend.request(method, params, { timeoutMs: this.deps.timing.callMs, ...opts });
    } finally {
      this.inFlight--;
    }
  }

  identity(): ServerIdentity | undefined {
    return this.state === "running" ? this.live?.backend.identity?.() : undefined;
  }

  era(): "legacy" | "modern" | undefined {
    return this.state === "running" ? this.live?.backend.era?.() : undefined;
  }

  get capabilities(): ServerCaps | undefined {
    const backend = this.live?.backend;
    return this.state === "running" && isMcpChannel(backend) ? backend.serverCapabilities() : undefined;
  }

  readLogs(lines: number, since?: string, stream?: LogLine["stream"]): Promise<LogLine[]> {
    return Promise.resolve(this.logs.tail(lines, since, stream));
  }

  get pid(): number | null {
    return this.live?.child?.pid ?? this.pending?.pid ?? null;
  }

  info(): ServiceInfo {
    return {
      name: this.name,
      host: this.host,
      status: this.state,
      source: this.source,
      detail: this.detail,
      pid: this.pid,
      uptime_s: this.state === "running" && this.runningSince ? Math.round((Date.now() - this.runningSince) / 1000) : null,
      restarts: this.restarts,
      last_exit: this.lastExit ?? null,
      error: this.error ?? null,
      install_ms: this.installMs ?? null,
      handshake_ms: this.handshakeMs ?? null,
      tool_count: this.tools.length,
      tools: this.tools.map((t) => ({ name: t.name, description: t.description ?? "" })),
    };
  }

  whyNotRunning(): string {
    return whyNotRunning({ name: this.name, host: this.host, state: this.state, error: this.error, lastExit: this.lastExit, nextAttemptAt: this.nextAttemptAt });
  }

  private get handshakeBound(): number {
    return this.spec.timeout_ms ?? this.deps.timing.handshakeMs;
  }

  private async spawn(phase: "starting" | "restarting"): Promise<void> {
    this.refuseIfStopped();
    const gen = ++this.gen;
    this.setState(phase);
    const t = this.deps.timing;
    const started = Date.now();
    this.runStartedAt = started;
    this.phase(`starting${this.detail ? `: ${this.detail}` : ""}`);
    let mine: ChildBackend | undefined;
    const { live, tools } = await launchService({
      name: this.name,
      launch: this.launch!,
      env: childEnv(this.deps.baseEnv, { inherit: this.spec.inherit_env !== false, extra: this.launch!.kind === "stdio" ? this.launch!.env : {}, secrets: this.deps.secrets }),
      handshakeMs: this.handshakeBound,
      callMs: t.callMs,
      killGraceMs: t.killGraceMs,
      log: this.deps.log,
      onLog: (stream, line) => this.logs.push(stream, line),
      stderrTail: () => this.logs.stderrTail(20, started),
      onExit: (info) => this.onExit(gen, info),
      onToolsChanged: () => void this.refreshTools(gen),
      hub: this.hub,
      onNotification: (method, params) => {
        if (gen === this.gen) this.deps.onNotification?.(method, params);
      },
      // Only this run's child is cleared: a superseded run finishing late must not hide a newer run's child from halt.
      onPending: (child) => {
        if (child) {
          mine = this.pending = child;
          this.phase("handshake: initialize, then tools/list");
        } else if (this.pending === mine) this.pending = undefined;
      },
      onLive: (live) => (this.live = live),
      stillWanted: () => gen === this.gen,
      prior: this.verdict,
    }).catch((e: unknown) => {
      if (this.gen === gen) {
        this.live = undefined;
        this.verdict = undefined;
      }
      throw e;
    });
    if (gen !== this.gen) {
      await live.backend.close().catch(() => {});
      throw new ServiceError(`service '${this.name}' was stopped or restarted while starting`);
    }
    this.live = live;
    this.tools = tools;
    this.verdict = live.child?.verdict;
    this.handshakeMs = Date.now() - started;
    this.runningSince = Date.now();
    const again = this.launchedOnce;
    this.launchedOnce = true;
    this.nextAttemptAt = undefined;
    const pid = live.child?.pid;
    const summary = `pid ${pid ?? "-"}, ${tools.length} tool(s), handshake ${this.handshakeMs} ms`;
    this.logs.push("herd", `running: ${summary}`);
    this.phase(`running: ${tools.length} tool(s)`);
    this.deps.emit("info", `${again ? "restarted" : "started"}: ${summary}`, { pid: pid ?? null, tools: tools.length, restarts: this.restarts });
    this.setState("running");
    this.schedulePing(gen);
  }

  private onExit(gen: number, info: ExitInfo): void {
    if (gen !== this.gen) return;
    const reason = info.reason ?? describeExit(info);
    this.lastExit = { code: info.code, signal: info.signal, reason, at: new Date().toISOString() };
    this.logs.push("herd", `process exited (${reason})`);
    if (this.state !== "running") return;
    if (info.reason) {
      this.ended = { gen, reason: `${reason} (pid ${this.pid ?? "-"})` };
      this.crash(`${reason}: killed`);
    } else this.crash(`exited (${reason})`);
  }

  private crash(reason: string): void {
    const old = this.live;
    this.gen++;
    this.live = undefined;
    this.clearTimers();
    if (old) void old.backend.close().then(() => this.reportKill(old.child), () => {});
    this.tools = [];
    const now = Date.now();
    const verdict = this.policy.failed(now, this.runningSince);
    this.runningSince = undefined;
    const lastErr = this.logs.stderrTail(1, this.runStartedAt)[0];
    const data = { reason, exit_code: this.lastExit?.code ?? null, signal: this.lastExit?.signal ?? null, ...(lastErr ? { last_stderr: lastErr } : {}) };
    const tail = lastErr ? `; last stderr line: ${lastErr}` : "";
    if (verdict.giveUp) {
      const windowS = Math.round(this.deps.timing.crashWindowMs / 1000);
      this.error = `${verdict.failures} failures within ${windowS} s, last: ${reason}; restarts stopped`;
      this.logs.push("herd", this.error);
      this.deps.emit("error", `gave up: ${this.error}${tail}. See service_logs, fix the cause, then call service_restart`, data);
      this.setState("crashed");
      return;
    }
    this.nextAttemptAt = now + verdict.delayMs;
    this.logs.push("herd", `${reason}; restarting in ${verdict.delayMs} ms`);
    this.deps.emit("warning", `crashed: ${reason}${tail}`, data);
    this.deps.emit("info", `restarting in ${formatDelay(verdict.delayMs)}`, { delay_ms: verdict.delayMs });
    this.setState("restarting");
    const gen = this.gen;
    this.restartTimer = setTimeout(() => void this.retry(gen), verdict.delayMs);
    this.restartTimer.unref?.();
  }

  private async retry(gen: number): Promise<void> {
    if (gen !== this.gen || this.state !== "restarting") return;
    this.restarts++;
    try {
      await this.spawn("restarting");
    } catch (e) {
      if (this.state !== "restarting") return;
      const msg = (e as Error).message;
      this.logs.push("herd", `restart failed: ${msg}`);
      this.crash(headline(msg, this.name));
    }
  }

  // On a fixed interval, busy or not: calls in flight must not hide a child that stopped answering.
  private schedulePing(gen: number): void {
    this.pingTimer = setInterval(() => {
      if (gen === this.gen) this.checkNow();
    }, this.deps.timing.pingIntervalMs);
    this.pingTimer.unref?.();
  }

  /**
   * Pings the server (a remote one: lists its tools). No answer within the deadline, and nothing
   * else heard from it meanwhile, counts as a crash (a child: hung, killed and restarted).
   */
  private checkNow(): void {
    const t = this.deps.timing;
    const live = this.live;
    const gen = this.gen;
    if (this.state !== "running" || !live || this.pinging) return;
    this.pinging = true;
    const sentAt = Date.now();
    const probe = live.child ? live.child.ping(t.pingTimeoutMs) : live.backend.listTools().then(() => undefined);
    withDeadline(probe, t.pingTimeoutMs, `no answer to a ping within ${t.pingTimeoutMs} ms`)
      .then(() => {
        if (gen === this.gen) this.lastHeardAt = Date.now();
      })
      .catch((e: Error) => {
        if (gen !== this.gen || this.state !== "running") return;
        const first = e.message.split("\n")[0]!;
        const hung = live.child !== undefined;
        if (hung && Math.max(this.lastHeardAt, live.child!.lastOutputAt) >= sentAt) {
          this.logs.push("herd", `a ping went unanswered for ${t.pingTimeoutMs} ms, but the child kept answering or writing meanwhile: not hung`);
          return;
        }
        const reason = hung ? `did not answer a ping within ${t.pingTimeoutMs} ms` : `unreachable (${first})`;
        this.lastExit = { code: null, signal: null, reason: hung ? "hung (no answer to ping): killed" : reason, at: new Date().toISOString() };
        this.logs.push("herd", hung ? `${reason} (${first}): killing it` : `${reason}: reconnecting`);
        if (hung) this.ended = { gen, reason: `answered nothing, not even a ping, for ${t.pingTimeoutMs} ms (hung, pid ${live.child!.pid ?? "-"})` };
        this.crash(hung ? `hung: answered nothing (not even a ping) for ${t.pingTimeoutMs} ms; killed` : reason);
      })
      .finally(() => (this.pinging = false));
  }

  private async refreshTools(gen: number): Promise<void> {
    const live = this.live;
    if (gen !== this.gen || !live || this.state !== "running") return;
    try {
      const tools = live.child ? await live.child.listTools({ timeoutMs: this.handshakeBound }) : await live.backend.listTools();
      if (gen !== this.gen) return;
      this.tools = tools;
      this.logs.push("herd", `tool list changed: ${tools.length} tool(s)`);
      this.deps.onChange();
    } catch (e) {
      this.logs.push("herd", `tools/list after list_changed failed: ${(e as Error).message}`);
    }
  }

  private async halt(): Promise<void> {
    this.gen++;
    this.epoch++;
    this.clearTimers();
    const live = this.live;
    const pending = this.pending;
    this.live = this.pending = undefined;
    this.tools = [];
    this.runningSince = undefined;
    await Promise.all([live?.backend.close().catch(() => {}), pending?.close().catch(() => {})]);
    this.reportKill(live?.child);
    this.reportKill(pending);
  }

  // A tree that ignored SIGTERM is worth telling the operator: its shutdown handling is broken.
  private reportKill(child: ChildBackend | undefined): void {
    if (child?.killedWith !== "SIGKILL") return;
    const msg = `pid ${child.pid ?? "-"} ignored SIGTERM for ${this.deps.timing.killGraceMs} ms: killed with SIGKILL`;
    this.logs.push("herd", msg);
    this.deps.emit("warning", msg, { pid: child.pid ?? null, signal: "SIGKILL" });
  }

  // A stop is final (unload or replacement): a restart queued behind it must not bring back a process nobody owns.
  private refuseIfStopped(): void {
    if (this.stopping) throw new ServiceError(`service '${this.name}' was stopped (unloaded or replaced); service_list shows what is loaded now`);
  }

  private fail(e: unknown): void {
    this.error = (e as Error).message ?? String(e);
    this.logs.push("herd", `start failed: ${this.error}`);
    if (!(e instanceof SpecError)) this.deps.emit("error", `failed to start: ${this.error.split("\n")[0]}. See service_logs; fix the cause, then call service_restart or service_load`, {
      error: this.error,
    });
    this.setState("failed");
  }

  private phase(message: string): void {
    this.logs.push("herd", message);
    this.onPhase?.(message);
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.restartTimer = this.pingTimer = undefined;
  }

  private setState(s: ServiceState): void {
    if (this.state === s && s !== "running") return;
    this.state = s;
    this.deps.onChange();
  }
}

/** The first line of a failure, without the service's name (already known) or a dangling stderr header. */
function headline(message: string, name: string): string {
  return message
    .split("\n")[0]!
    .replace(`service '${name}' `, "")
    .replace(/; (last stderr lines:|it wrote nothing to stderr)$/, "");
}

function formatDelay(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
