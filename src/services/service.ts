import { TransportError, type Backend, type CallOptions, type ToolInfo, type ToolResult } from "../backends/backend.js";
import { ChildBackend, describeExit, type ExitInfo } from "../backends/child.js";
import { childEnv } from "../backends/child-env.js";
import { PeerBackend } from "../backends/peer.js";
import type { ServiceSpec } from "../config.js";
import type { Logger } from "../log.js";
import { LogRing } from "./logs.js";
import type { Launch, PrepareSource, SourceKind } from "./types.js";

export type ServiceState = "installing" | "starting" | "running" | "restarting" | "crashed" | "failed" | "stopped";

/** Every interval of the supervisor, configurable so tests can run it fast. */
export interface SupervisorTiming {
  installMs: number;
  handshakeMs: number;
  callMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  backoffStartMs: number;
  backoffMaxMs: number;
  crashWindowMs: number;
  maxCrashes: number;
  stableMs: number;
  killGraceMs: number;
}

export const DEFAULT_TIMING: SupervisorTiming = {
  installMs: 5 * 60_000,
  handshakeMs: 30_000,
  callMs: 60_000,
  pingIntervalMs: 30_000,
  pingTimeoutMs: 10_000,
  backoffStartMs: 1_000,
  backoffMaxMs: 30_000,
  crashWindowMs: 2 * 60_000,
  maxCrashes: 5,
  stableMs: 60_000,
  killGraceMs: 3_000,
};

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
}

/** A call or operation refused because of the service's state; the message says what to do. */
export class ServiceError extends Error {
  override readonly name = "ServiceError";
}

interface LastExit {
  code: number | null;
  signal: string | null;
  reason: string;
  at: string;
}

/** What service_list shows for one service. */
export interface ServiceInfo {
  name: string;
  status: ServiceState;
  source?: SourceKind;
  detail?: string;
  pid: number | null;
  uptime_s: number | null;
  restarts: number;
  last_exit: LastExit | null;
  error: string | null;
  install_ms: number | null;
  handshake_ms: number | null;
  tool_count: number;
  tools: { name: string; description: string }[];
}

type Live = { backend: Backend; child?: ChildBackend };

/** One supervised MCP server: prepare, handshake, serve calls, restart on crash or hang, stop. */
export class Service {
  state: ServiceState = "installing";
  readonly logs = new LogRing(1000);
  tools: ToolInfo[] = [];
  restarts = 0;
  lastExit?: LastExit;
  error?: string;
  private launch?: Launch;
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
  private crashes: number[] = [];
  private backoffMs: number;
  private nextAttemptAt?: number;
  private restartTimer?: NodeJS.Timeout;
  private pingTimer?: NodeJS.Timeout;
  private pinging = false;
  private inFlight = 0;
  private abort = new AbortController();
  private stopping?: Promise<void>;
  private launchedOnce = false;

  constructor(
    readonly name: string,
    readonly spec: ServiceSpec,
    private readonly deps: ServiceDeps,
  ) {
    this.backoffMs = deps.timing.backoffStartMs;
    this.logs.setSecrets(Object.values(spec.env ?? {}));
  }

  /** First start: prepare (install) then handshake; throws with a clear message and leaves the state `failed`. */
  async start(onPhase?: (message: string) => void): Promise<void> {
    const epoch = this.epoch;
    this.setState("installing");
    try {
      const t = this.deps.timing;
      const prepared = await this.deps.prepare(this.name, this.spec, {
        stateDir: this.deps.stateDir,
        installTimeoutMs: t.installMs,
        signal: this.abort.signal,
        onPhase: (phase, detail) => {
          const line = detail ? `${phase}: ${detail}` : phase;
          this.logs.push("herd", line);
          onPhase?.(line);
        },
        log: this.deps.log,
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
    }
  }

  /** Manual restart: stops what runs, forgets the crash history, starts again (re-installing only if it never installed). */
  async restart(): Promise<void> {
    await this.halt();
    this.crashes = [];
    this.backoffMs = this.deps.timing.backoffStartMs;
    this.error = undefined;
    this.restarts++;
    if (!this.launch) return this.start();
    const epoch = this.epoch;
    try {
      await this.spawn("starting");
    } catch (e) {
      if (epoch === this.epoch) this.fail(e);
      throw e;
    }
  }

  /** Stops the service and its whole process tree. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.abort.abort(new ServiceError(`service '${this.name}' was stopped`));
      await this.halt();
      this.setState("stopped");
    })());
  }

  /** True while installing or in its first handshake: a new load or an unload may cancel it. */
  get preemptible(): boolean {
    return this.state === "installing" || (this.state === "starting" && !this.launchedOnce);
  }

  /** Calls one of the service's tools; refuses at once with the reason when it is not running. */
  async call(tool: string, args: Record<string, unknown>, opts: CallOptions = {}): Promise<ToolResult> {
    const live = this.live;
    if (this.state !== "running" || !live) throw new ServiceError(this.whyNotRunning());
    this.inFlight++;
    try {
      return await live.backend.callTool(tool, args, { timeoutMs: this.deps.timing.callMs, ...opts });
    } catch (e) {
      // A remote server that stopped answering is checked now rather than at the next ping.
      if (e instanceof TransportError && !live.child && !opts.signal?.aborted) this.checkNow();
      throw e;
    } finally {
      this.inFlight--;
    }
  }

  private get handshakeBound(): number {
    return this.spec.timeout_ms ?? this.deps.timing.handshakeMs;
  }

  get pid(): number | null {
    return this.live?.child?.pid ?? this.pending?.pid ?? null;
  }

  info(): ServiceInfo {
    return {
      name: this.name,
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

  /** The message a refused call gets: the state, why, and what to do. */
  whyNotRunning(): string {
    const n = `service '${this.name}'`;
    const last = this.lastExit ? ` (last: ${this.lastExit.reason})` : "";
    switch (this.state) {
      case "installing":
        return `${n} is still installing; try again when service_list shows it running`;
      case "starting":
        return `${n} is starting (handshake in progress); try again in a moment`;
      case "restarting": {
        const s = this.nextAttemptAt ? Math.max(0, Math.ceil((this.nextAttemptAt - Date.now()) / 1000)) : 0;
        return `${n} is restarting after a failure${last}; next attempt in ~${s} s. See service_logs for its output`;
      }
      case "crashed":
        return `${n} is crashed: ${this.error ?? "too many crashes"}. See service_logs, then call service_restart`;
      case "failed":
        return `${n} failed to start: ${this.error ?? "unknown error"}. Fix the cause, then call service_restart or service_load`;
      case "stopped":
        return `${n} is stopped`;
      default:
        return `${n} is ${this.state}`;
    }
  }

  private async spawn(phase: "starting" | "restarting"): Promise<void> {
    const gen = ++this.gen;
    this.setState(phase);
    const launch = this.launch!;
    const t = this.deps.timing;
    const started = Date.now();
    let live: Live;
    if (launch.kind === "stdio") {
      const child = ChildBackend.create({
        name: this.name,
        command: launch.command,
        args: launch.args,
        cwd: launch.cwd,
        env: childEnv(this.deps.baseEnv, { inherit: this.spec.inherit_env !== false, extra: launch.env, secrets: this.deps.secrets }),
        log: this.deps.log,
        onLog: (stream, line) => this.logs.push(stream, line),
        stderrTail: () => this.logs.stderrTail(20),
        onExit: (info) => this.onExit(gen, info),
        onToolsChanged: () => void this.refreshTools(gen),
        handshakeTimeoutMs: this.handshakeBound,
        killGraceMs: t.killGraceMs,
      });
      this.pending = child;
      try {
        await child.connect();
      } finally {
        if (this.pending === child) this.pending = undefined;
      }
      live = { backend: child, child };
    } else {
      live = { backend: new PeerBackend({ url: launch.url, headers: launch.headers, timeoutMs: this.handshakeBound, callTimeoutMs: t.callMs, log: this.deps.log }) };
    }
    if (gen !== this.gen) {
      await live.backend.close();
      throw new ServiceError(`service '${this.name}' was stopped while starting`);
    }
    this.live = live;
    let tools: ToolInfo[];
    try {
      const left = Math.max(1000, this.handshakeBound - (Date.now() - started));
      tools = await withDeadline(
        live.child ? live.child.listTools({ timeoutMs: left }) : live.backend.listTools(),
        left,
        `service '${this.name}' did not answer tools/list within ${this.handshakeBound} ms`,
      );
    } catch (e) {
      if (this.live === live) this.live = undefined;
      await live.backend.close();
      throw e;
    }
    if (gen !== this.gen) {
      await live.backend.close();
      throw new ServiceError(`service '${this.name}' was stopped while starting`);
    }
    this.tools = tools;
    this.handshakeMs = Date.now() - started;
    this.runningSince = Date.now();
    this.launchedOnce = true;
    this.nextAttemptAt = undefined;
    this.logs.push("herd", `running: pid ${live.child?.pid ?? "-"}, ${tools.length} tool(s), handshake ${this.handshakeMs} ms`);
    this.setState("running");
    this.schedulePing(gen);
  }

  private onExit(gen: number, info: ExitInfo): void {
    if (gen !== this.gen) return;
    const reason = describeExit(info);
    this.lastExit = { code: info.code, signal: info.signal, reason, at: new Date().toISOString() };
    this.logs.push("herd", `process exited (${reason})`);
    if (this.state === "running") this.crash(`exited (${reason})`);
  }

  private crash(reason: string): void {
    const t = this.deps.timing;
    const old = this.live;
    this.gen++;
    this.live = undefined;
    this.clearTimers();
    if (old) void old.backend.close().catch(() => {});
    this.tools = [];
    const now = Date.now();
    if (this.runningSince !== undefined && now - this.runningSince >= t.stableMs) {
      this.crashes = [];
      this.backoffMs = t.backoffStartMs;
    }
    this.runningSince = undefined;
    this.crashes = this.crashes.filter((c) => now - c < t.crashWindowMs);
    this.crashes.push(now);
    if (this.crashes.length > t.maxCrashes) {
      this.error = `${this.crashes.length} failures within ${Math.round(t.crashWindowMs / 1000)} s, last: ${reason}; restarts stopped`;
      this.logs.push("herd", this.error);
      this.deps.log.warn("service crashed for good", { service: this.name, reason });
      this.setState("crashed");
      return;
    }
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, t.backoffMaxMs);
    this.nextAttemptAt = now + delay;
    this.logs.push("herd", `${reason}; restarting in ${delay} ms`);
    this.deps.log.info("service failed, restarting", { service: this.name, reason, delay_ms: delay });
    this.setState("restarting");
    const gen = this.gen;
    this.restartTimer = setTimeout(() => void this.retry(gen), delay);
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
      this.crash(msg.split("\n")[0]!);
    }
  }

  private schedulePing(gen: number): void {
    this.pingTimer = setInterval(() => {
      if (gen === this.gen && this.inFlight === 0) this.checkNow();
    }, this.deps.timing.pingIntervalMs);
    this.pingTimer.unref?.();
  }

  /** Pings the server (a remote one: lists its tools); no answer within the deadline counts as a crash. */
  private checkNow(): void {
    const t = this.deps.timing;
    const live = this.live;
    const gen = this.gen;
    if (this.state !== "running" || !live || this.pinging) return;
    this.pinging = true;
    const probe = live.child ? live.child.ping(t.pingTimeoutMs) : live.backend.listTools().then(() => undefined);
    withDeadline(probe, t.pingTimeoutMs, `no answer to a ping within ${t.pingTimeoutMs} ms`)
      .catch((e: Error) => {
        if (gen !== this.gen || this.state !== "running") return;
        const first = e.message.split("\n")[0]!;
        const hung = live.child !== undefined;
        const reason = hung ? `did not answer a ping within ${t.pingTimeoutMs} ms` : `unreachable (${first})`;
        this.lastExit = { code: null, signal: null, reason: hung ? "hung (no answer to ping): killed" : reason, at: new Date().toISOString() };
        this.logs.push("herd", hung ? `${reason} (${first}): killing it` : `${reason}: reconnecting`);
        this.crash(reason);
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
  }

  private fail(e: unknown): void {
    this.error = (e as Error).message ?? String(e);
    this.logs.push("herd", `start failed: ${this.error}`);
    this.setState("failed");
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

function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
