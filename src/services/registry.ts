import { mkdirSync } from "node:fs";
import type { Backend, CallOptions, ToolResult } from "../backends/backend.js";
import type { ServiceHub } from "../backends/mcp/client-link.js";
import type { Config, ServiceSpec } from "../config.js";
import type { EventLevel, HerdEvent } from "../events.js";
import type { Logger } from "../log.js";
import { changeState, readState, sameSpec, statePath } from "./state.js";
import { DEFAULT_WATCH, FileWatch, watchTimingFromEnv, type WatchTiming } from "./state-watch.js";
import { RemoteService } from "./remote.js";
import { Service } from "./service.js";
import { DEFAULT_TIMING, ServiceError, type EmitEvent, type ServiceInfo, type Supervised, type SupervisorTiming } from "./service-types.js";
import type { PrepareSource } from "./types.js";
import { prepareSource } from "./sources/index.js";
import { SpecError, validateName } from "./validate.js";
import type { LogLine } from "./logs.js";
import { ServiceNotes } from "./notes.js";

export { ServiceError } from "./service-types.js";

export interface RegistryOptions {
  config: Pick<Config, "stateDir" | "services" | "token" | "hosts"> & Partial<Pick<Config, "followState" | "tokens">>;
  log: Logger;
  prepare?: PrepareSource;
  timing?: Partial<SupervisorTiming>;
  baseEnv?: NodeJS.ProcessEnv;
  /** Operator events (started, crashed, unloaded, ...); without it they go to the log. */
  events?: { emit(e: HerdEvent): void };
  /** The mcp-herd peer of a host, for services loaded with `host`; a string says why there is none. */
  peerFor?: (host: string) => Backend | string;
  /** A service on another host as itself there (its /services/<name>/mcp), for its resources, prompts and other requests. */
  endpointFor?: (host: string, service: string, hub: ServiceHub) => Backend | undefined;
  /** How the shared state file is watched with `followState` (default: DEFAULT_WATCH, then the environment). */
  watchTiming?: Partial<WatchTiming>;
}

/** Test and tuning knobs from the environment (MCP_HERD_PING_INTERVAL_MS, ...), all in milliseconds. */
export function timingFromEnv(env: NodeJS.ProcessEnv): Partial<SupervisorTiming> {
  const keys: Record<string, keyof SupervisorTiming> = {
    MCP_HERD_PING_INTERVAL_MS: "pingIntervalMs",
    MCP_HERD_PING_TIMEOUT_MS: "pingTimeoutMs",
    MCP_HERD_BACKOFF_START_MS: "backoffStartMs",
    MCP_HERD_BACKOFF_MAX_MS: "backoffMaxMs",
    MCP_HERD_STABLE_MS: "stableMs",
    MCP_HERD_HANDSHAKE_MS: "handshakeMs",
    MCP_HERD_KILL_GRACE_MS: "killGraceMs",
  };
  const out: Partial<SupervisorTiming> = {};
  for (const [k, field] of Object.entries(keys)) {
    const n = Number(env[k]);
    if (env[k] && Number.isFinite(n) && n > 0) out[field] = n;
  }
  return out;
}

/** name -> Service: the only place that starts, restarts and stops services; remembers them in the state file. */
export class ServiceRegistry {
  private readonly services = new Map<string, Supervised>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly persisted = new Map<string, ServiceSpec>();
  /** The state file's records as this process last saw or wrote them: what another process changed since is what differs. */
  private readonly seen = new Map<string, ServiceSpec>();
  private watch?: FileWatch;
  private readonly listeners = new Set<() => void>();
  private readonly timing: SupervisorTiming;
  private readonly prepare: PrepareSource;
  private stateWrite: Promise<void> = Promise.resolve();
  private closing = false;
  private readonly notifyListeners = new Set<(service: string, method: string, params: Record<string, unknown> | undefined) => void>();
  private startedAll?: () => void;
  private readonly startedAllP = new Promise<void>((resolve) => (this.startedAll = resolve));
  /** What service_list adds to a service's status: a rename from a client config, a resource URI clash, ... */
  readonly notes = new ServiceNotes();

  constructor(private readonly opts: RegistryOptions) {
    this.timing = { ...DEFAULT_TIMING, ...(opts.timing ?? {}) };
    this.prepare = opts.prepare ?? prepareSource;
  }

  /** Loads `config.services`, then the state file's services not named in config; never throws. */
  async startAll(): Promise<void> {
    const fromConfig = this.opts.config.services;
    const fromState = readState(this.opts.config.stateDir, this.opts.log).services;
    for (const [name, spec] of Object.entries(fromState)) this.seen.set(name, spec);
    const jobs: Promise<unknown>[] = [];
    for (const [name, spec] of Object.entries(fromConfig)) {
      if (spec.disabled) continue;
      jobs.push(this.load(name, spec, { persist: false, adopt: true }).catch((e: Error) => this.opts.log.warn(`service '${name}' (config) did not start`, { error: firstLine(e) })));
    }
    for (const [name, spec] of Object.entries(fromState)) {
      if (name in fromConfig) continue;
      this.persisted.set(name, spec);
      jobs.push(this.load(name, spec, { persist: true, keepOnFailure: true, adopt: true, recorded: true }).catch((e: Error) => this.opts.log.warn(`service '${name}' (state) did not start`, { error: firstLine(e) })));
    }
    if (this.opts.config.followState) this.followState();
    await Promise.allSettled(jobs);
    this.startedAll?.();
  }

  /** Resolves once every service from config and the state file has started or failed (see startAll). */
  whenStarted(): Promise<void> {
    return this.startedAllP;
  }

  /** Notifications of running services that the catalog follows (resources updated, list changes). */
  onNotification(listener: (service: string, method: string, params: Record<string, unknown> | undefined) => void): () => void {
    this.notifyListeners.add(listener);
    return () => this.notifyListeners.delete(listener);
  }

  /** Starts a service (replacing one of the same name, whose tree is stopped first); throws with a clear message. */
  async load(
    name: string,
    spec: ServiceSpec,
    opts: LoadOptions = {},
  ): Promise<ServiceInfo> {
    validateName(name);
    const peer = this.peerOf(spec.host);
    this.preempt(name);
    return this.locked(name, () => this.replace(name, spec, peer, opts));
  }

  /** Stops a service with its whole tree and forgets it (also in the state file). */
  unload(name: string): Promise<void> {
    const bad = refuseName(name);
    if (bad) return bad;
    this.preempt(name);
    return this.locked(name, async () => {
      const svc = this.services.get(name);
      if (!svc) throw new ServiceError(`no service named '${name}' is loaded; service_list shows the loaded ones`);
      if (svc.host === "local") {
        this.services.delete(name);
        this.emit();
        await svc.remove();
      } else {
        // A remote one stays listed until its host confirms, so an unreachable host does not lose it.
        await svc.remove();
        if (this.services.get(name) === svc) this.services.delete(name);
        this.emit();
      }
      await this.forget(name);
      this.event(name, "info", svc.host === "local" ? "unloaded" : `unloaded on host '${svc.host}'`, { host: svc.host });
    });
  }

  /** Restarts a service, also one that is `crashed` or `failed`. */
  restart(name: string): Promise<ServiceInfo> {
    const bad = refuseName(name);
    if (bad) return bad;
    return this.locked(name, async () => {
      const svc = this.services.get(name);
      if (!svc) throw new ServiceError(`no service named '${name}' is loaded; use service_load`);
      await svc.restart();
      return svc.info();
    });
  }

  /** Calls a tool of a service; refuses with the reason when it is not running. */
  call(name: string, tool: string, args: Record<string, unknown>, opts?: CallOptions): Promise<ToolResult> {
    const bad = refuseName(name);
    if (bad) return bad;
    const svc = this.services.get(name);
    if (!svc) return Promise.reject(new ServiceError(`no service named '${name}' is loaded; service_list shows the loaded ones`));
    return svc.call(tool, args, opts);
  }

  get(name: string): Supervised | undefined {
    return this.services.get(name);
  }

  list(): Supervised[] {
    return [...this.services.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The last log lines of a service on this machine (synchronous; readLogs also reaches other hosts). */
  logs(name: string, lines: number, since?: string): LogLine[] {
    validateName(name);
    const svc = this.services.get(name);
    if (!svc) throw new ServiceError(`no service named '${name}' is loaded; service_list shows the loaded ones`);
    if (!(svc instanceof Service)) throw new ServiceError(`service '${name}' runs on host '${svc.host}'; use readLogs`);
    return svc.logs.tail(lines, since);
  }

  /** The last log lines of a service, wherever it runs. */
  readLogs(name: string, lines: number, since?: string, stream?: LogLine["stream"]): Promise<LogLine[]> {
    const bad = refuseName(name);
    if (bad) return bad;
    const svc = this.services.get(name);
    if (!svc) return Promise.reject(new ServiceError(`no service named '${name}' is loaded; service_list shows the loaded ones`));
    return svc.readLogs(lines, since, stream);
  }

  /** Fires whenever a service's state or tool list changes. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops every service and its tree, in parallel, within the kill grace period (+2 s). */
  async stopAll(): Promise<void> {
    this.closing = true;
    this.watch?.stop();
    const all = [...this.services.values()];
    this.services.clear();
    await Promise.allSettled(all.map((s) => s.stop()));
    this.emit();
  }

  // Runs under the name's lock.
  private async replace(name: string, spec: ServiceSpec, peer: Backend | undefined, opts: LoadOptions): Promise<ServiceInfo> {
    if (this.closing) throw new ServiceError("mcp-herd is shutting down; no service can be loaded");
    const old = this.services.get(name);
    if (old) {
      this.services.delete(name);
      await this.letGo(old, spec);
    }
    const svc = this.create(name, spec, peer);
    this.services.set(name, svc);
    this.emit();
    try {
      await svc.start(opts.onPhase, { adopt: opts.adopt, ...(opts.reuseClone ? { reuseClone: true } : {}) });
    } catch (e) {
      if (e instanceof SpecError) {
        this.services.delete(name);
        this.emit();
      }
      if (!opts.keepOnFailure) await this.forget(name);
      throw e;
    }
    const persist = opts.persist !== false && !(name in this.opts.config.services);
    if (persist && opts.recorded) this.persisted.set(name, spec);
    const stateError = persist && !opts.recorded ? await this.remember(name, spec) : undefined;
    this.opts.log.debug("service loaded", { service: name, host: svc.host, tools: svc.tools.length, pid: svc.pid });
    return stateError ? { ...svc.info(), state_error: stateError } : svc.info();
  }

  /** Watches the shared state file and follows what other mcp-herd processes load and unload there. */
  private followState(): void {
    const dir = this.opts.config.stateDir;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      this.opts.log.warn(`cannot follow the state folder ${dir}: ${(e as Error).message}`);
      return;
    }
    const timing = { ...DEFAULT_WATCH, ...watchTimingFromEnv(process.env), ...(this.opts.watchTiming ?? {}) };
    this.watch = new FileWatch(statePath(dir), () => this.syncFromState(), timing, this.opts.log);
    this.watch.start();
    // A change between the first read and the watch is caught up at once.
    void this.syncFromState();
  }

  /** Re-reads the shared state file and follows each record another process changed since this one last looked. */
  private async syncFromState(): Promise<void> {
    if (this.closing) return;
    const read = readState(this.opts.config.stateDir, this.opts.log);
    // A file that cannot be read says nothing, not even that a service is gone.
    if (read.unreadable) return;
    for (const name of new Set([...this.seen.keys(), ...Object.keys(read.services)])) {
      if (name in this.opts.config.services || read.skipped.includes(name)) continue;
      const now = read.services[name];
      if (sameSpec(this.seen.get(name), now)) continue;
      if (now) this.seen.set(name, now);
      else this.seen.delete(name);
      void this.follow(name);
    }
  }

  // Each step re-checks under the name's lock, so a step queued behind a newer change of the same name does nothing.
  /** Brings one service in step with the shared state file: load it (never written back), or let it go here. */
  private follow(name: string): Promise<void> {
    return this.locked(name, async () => {
      const wanted = this.seen.get(name);
      if (this.closing || sameSpec(wanted, this.persisted.get(name))) return;
      const svc = this.services.get(name);
      if (!wanted) {
        this.persisted.delete(name);
        if (!svc) return;
        this.services.delete(name);
        this.emit();
        await svc.stop();
        this.event(name, "info", "unloaded: another mcp-herd process sharing the state folder unloaded it", { host: svc.host, follow: true });
        return;
      }
      try {
        const peer = this.peerOf(wanted.host);
        this.persisted.set(name, wanted);
        await this.replace(name, wanted, peer, { keepOnFailure: true, adopt: true, recorded: true, reuseClone: true });
        this.event(name, "info", "loaded: another mcp-herd process sharing the state folder loaded it", { follow: true });
      } catch (e) {
        this.event(name, "warning", `another mcp-herd process sharing the state folder loaded it, but it did not start here: ${firstLine(e as Error)}`, { follow: true });
      }
    });
  }

  // A service still installing or in its first handshake is cancelled at once rather than waited for.
  private preempt(name: string): void {
    const svc = this.services.get(name);
    if (svc?.preemptible) void svc.stop();
  }

  private create(name: string, spec: ServiceSpec, peer: Backend | undefined): Supervised {
    const onChange = () => this.emit();
    const emit: EmitEvent = (level, message, data) => this.event(name, level, message, data);
    const log = this.opts.log.child(`svc:${name}`);
    const onNotification = (method: string, params: Record<string, unknown> | undefined) => {
      for (const l of this.notifyListeners) l(name, method, params);
    };
    if (peer) {
      const endpointFor = this.opts.endpointFor;
      const endpoint = endpointFor && ((hub: ServiceHub) => endpointFor(spec.host!, name, hub));
      return new RemoteService(name, spec, { host: spec.host!, peer, timing: this.timing, log, onChange, emit, onNotification, ...(endpoint ? { endpoint } : {}) });
    }
    return new Service(name, spec, {
      prepare: this.prepare,
      stateDir: this.opts.config.stateDir,
      log,
      timing: this.timing,
      secrets: this.secrets(),
      baseEnv: this.opts.baseEnv ?? process.env,
      onChange,
      emit,
      onNotification,
    });
  }

  // The new spec runs elsewhere: end the old one where it ran; same place: the new load replaces it there.
  private async letGo(old: Supervised, spec: ServiceSpec): Promise<void> {
    if (old.host === (isRemote(spec.host) ? spec.host : "local")) return old.stop();
    await old.remove().catch((e: Error) => {
      this.event(old.name, "warning", `could not be unloaded on host '${old.host}' while moving it: ${firstLine(e)}`, { host: old.host });
      return old.stop();
    });
  }

  /** The host's peer for a remote spec (undefined for this machine); refuses an unknown host or one without a peer. */
  private peerOf(host: string | undefined): Backend | undefined {
    if (!isRemote(host)) return undefined;
    const peer = this.opts.peerFor?.(host);
    if (peer === undefined) throw new SpecError(`host '${host}': services on other hosts need the fleet hub; this registry has none`);
    if (typeof peer === "string") throw new SpecError(peer);
    return peer;
  }

  private event(name: string, level: EventLevel, message: string, data: Record<string, unknown> = {}): void {
    if (this.opts.events) return this.opts.events.emit({ level, logger: `service:${name}`, message, data: { service: name, ...data } });
    const logLevel = level === "debug" ? "debug" : level === "info" || level === "notice" ? "info" : level === "warning" ? "warn" : "error";
    this.opts.log[logLevel](`service '${name}': ${message}`, data);
  }

  private secrets(): string[] {
    const out: string[] = [];
    if (this.opts.config.token) out.push(this.opts.config.token);
    for (const t of this.opts.config.tokens ?? []) out.push(t.token);
    for (const h of this.opts.config.hosts) if (h.peer?.token) out.push(h.peer.token);
    return out;
  }

  private emit(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (e) {
        this.opts.log.warn("service change listener failed", { error: (e as Error).message });
      }
    }
  }

  private locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.locks.set(name, tail);
    void tail.then(() => {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    });
    return run;
  }

  private remember(name: string, spec: ServiceSpec): Promise<string | undefined> {
    this.persisted.set(name, spec);
    return this.saveState(name, spec);
  }

  private async forget(name: string): Promise<void> {
    if (this.persisted.delete(name)) await this.saveState(name, undefined);
  }

  /** Sets or removes one record in the state file (one write at a time here, under the folder's lock against
   * other processes); resolves to why it failed, never rejects. */
  private saveState(name: string, spec: ServiceSpec | undefined): Promise<string | undefined> {
    const write = this.stateWrite
      .catch(() => undefined)
      .then(() => changeState(this.opts.config.stateDir, this.opts.log, name, spec))
      .then(
        () => {
          if (spec) this.seen.set(name, spec);
          else this.seen.delete(name);
          return undefined;
        },
        (e: Error) => {
          const why = `state file not written in ${this.opts.config.stateDir}: ${e.message}`;
          this.opts.log.warn(why);
          return why;
        },
      );
    this.stateWrite = write.then(() => undefined);
    return write;
  }
}

/** How a load runs: `recorded` services are already in the state file (start-up, another process's load) and are not written back. */
interface LoadOptions {
  persist?: boolean;
  keepOnFailure?: boolean;
  adopt?: boolean;
  recorded?: boolean;
  reuseClone?: boolean;
  onPhase?: (message: string) => void;
}

// A hostile name is refused as such, not answered with "no service named ...", which would echo it as if it could exist.
function refuseName(name: string): Promise<never> | undefined {
  try {
    validateName(name);
    return undefined;
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

function isRemote(host: string | undefined): host is string {
  return host !== undefined && host !== "" && host !== "local";
}

function firstLine(e: Error): string {
  return (e.message ?? String(e)).split("\n")[0]!;
}
