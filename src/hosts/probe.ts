import { resultText, type Backend, type BackendKind } from "../backends/backend.js";
import type { Logger } from "../log.js";
import type { Host, HostRegistry } from "./registry.js";

export interface ProbeOptions {
  ttlMs: number;
  /** Bound of a peer probe (its connect + tools/list). */
  peerTimeoutMs: number;
  /** Bound of an SSH probe (connect + `true`). */
  sshTimeoutMs: number;
  log: Logger;
  now?: () => number;
}

export interface PathStatus {
  kind: BackendKind;
  ok: boolean;
  latency_ms: number;
  error?: string;
  tool_count?: number;
  /** SSH: which paths serve it (files sftp|exec, shell bash|sh, commands agent|exec). */
  transport?: Record<string, string>;
}

/** What remote_list_hosts shows of one host. */
export interface HostStatus {
  name: string;
  state: "UP" | "DOWN";
  /** The first path (in call order) that answered the last probe. */
  via?: BackendKind;
  paths: PathStatus[];
  /** Why the failing paths failed (`peer: ... | ssh: ...`). */
  error?: string;
  tool_count?: number;
  latency_ms?: number;
  /** When the host entered its current state (ISO time). */
  since: string;
  checked_at: string;
  /** Failed probes in a row (an UP host goes DOWN at two). */
  failures: number;
  origin: string;
}

/** Host status from a TTL cache; up on the first success, down only after two failures in a row. */
export class ProbeCache {
  private readonly cache = new Map<string, { status: HostStatus; at: number }>();
  private readonly inflight = new Map<string, Promise<HostStatus>>();
  private readonly changeListeners = new Set<(status: HostStatus, previous: HostStatus) => void>();

  constructor(
    private readonly registry: HostRegistry,
    private readonly opts: ProbeOptions,
  ) {}

  /** Every host's (or the named hosts') status: fresh entries from the cache, the rest (or all, with force) probed in parallel. */
  async statuses(force = false, names?: string[]): Promise<HostStatus[]> {
    const now = this.now();
    const wanted = names ? new Set(names) : undefined;
    return Promise.all(
      this.registry.names().filter((n) => !wanted || wanted.has(n)).map((name) => {
        const hit = this.cache.get(name);
        if (!force && hit && now - hit.at < this.opts.ttlMs) return hit.status;
        return this.probe(name);
      }),
    );
  }

  /** The last known status of every probed host, without probing (hosts never probed are absent). */
  cached(): HostStatus[] {
    return this.registry.names().flatMap((n) => this.cache.get(n)?.status ?? []);
  }

  /** Calls `listener` when a probed host goes DOWN or comes back UP; returns an unsubscribe. */
  onStateChange(listener: (status: HostStatus, previous: HostStatus) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Probes one host now (joining a probe already under way). */
  probe(name: string): Promise<HostStatus> {
    const running = this.inflight.get(name);
    if (running) return running;
    const host = this.registry.get(name);
    if (!host) return Promise.reject(new Error(`unknown host '${name}'`));
    const p = this.run(host).finally(() => this.inflight.delete(name));
    this.inflight.set(name, p);
    return p;
  }

  private async run(host: Host): Promise<HostStatus> {
    const backends = host.backends();
    const paths = await Promise.all(backends.map((b) => this.probePath(b)));
    const at = this.now();
    const prev = this.cache.get(host.name)?.status;
    const first = paths.find((p) => p.ok);
    const failures = first ? 0 : (prev?.failures ?? 0) + 1;
    const state: HostStatus["state"] = first || (prev?.state === "UP" && failures < 2) ? "UP" : "DOWN";
    const errors = paths.filter((p) => !p.ok).map((p) => `${p.kind}: ${p.error}`);
    const status: HostStatus = {
      name: host.name,
      state,
      ...(first ? { via: first.kind, tool_count: first.tool_count, latency_ms: first.latency_ms } : prev?.via && state === "UP" ? { via: prev.via } : {}),
      paths,
      ...(errors.length ? { error: errors.join(" | ") } : {}),
      since: prev && prev.state === state ? prev.since : new Date(at).toISOString(),
      checked_at: new Date(at).toISOString(),
      failures,
      origin: host.origin,
    };
    if (prev && prev.state !== state) this.opts.log.debug(`host ${state}`, { host: host.name, via: status.via, error: status.error });
    this.cache.set(host.name, { status, at });
    if (prev && prev.state !== state) {
      for (const l of this.changeListeners) {
        try {
          l(status, prev);
        } catch (e) {
          this.opts.log.warn("host state listener failed", { error: (e as Error).message });
        }
      }
    }
    return status;
  }

  private async probePath(b: Backend): Promise<PathStatus> {
    const started = this.now();
    const bound = b.kind === "ssh" ? this.opts.sshTimeoutMs + 5000 : this.opts.peerTimeoutMs + 1000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const reach = reachable(b, this.opts.sshTimeoutMs);
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${bound / 1000}s`)), bound);
      });
      const { count: tool_count, transport } = await Promise.race([reach, late]);
      return { kind: b.kind, ok: true, latency_ms: this.now() - started, tool_count, ...(transport ? { transport } : {}) };
    } catch (e) {
      return { kind: b.kind, ok: false, latency_ms: this.now() - started, error: (e as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }
}

/** Proves a path answers: a peer lists its tools; an SSH host runs `true` (and says which paths served it). */
async function reachable(b: Backend, sshTimeoutMs: number): Promise<{ count: number; transport?: Record<string, string> }> {
  let transport: Record<string, string> | undefined;
  if (b.kind === "ssh") {
    const r = await b.callTool("shell", { command: "true", timeout: Math.max(1, Math.ceil(sshTimeoutMs / 1000)) });
    if (r.isError) throw new Error(resultText(r) || "shell `true` failed");
    const t = (r.structuredContent as { transport?: unknown } | undefined)?.transport;
    if (t && typeof t === "object") transport = t as Record<string, string>;
  }
  return { count: (await b.listTools()).length, ...(transport ? { transport } : {}) };
}
