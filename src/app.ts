import type { Config } from "./config.js";
import { AuditLog } from "./audit.js";
import type { HostIO } from "./backends/host-io.js";
import { LocalHostIO } from "./backends/local.js";
import { EventBus, hostEvent } from "./events.js";
import type { Logger } from "./log.js";
import { createHub, type HostHub } from "./hosts/hub.js";
import { ServiceRegistry, timingFromEnv } from "./services/registry.js";
import { endpointOfHost, peerOfHost } from "./services/host-peer.js";
import { createRelay, type Relay } from "./services/relay.js";
import { serviceToolProvider } from "./tools/services.js";
import type { ToolProvider } from "./tools/define.js";
import { VERSION } from "./version.js";

/** What every session shares: config, logger, the registries, and the shutdown list. */
export interface App {
  readonly config: Config;
  readonly log: Logger;
  readonly version: string;
  readonly startedAt: number;
  /** Dynamic tool sources (proxied service tools); static tools come from tools/index.ts. */
  readonly providers: ToolProvider[];
  /** Supervised MCP servers (services). */
  readonly services: ServiceRegistry;
  /** The fleet hub: hosts, router, probe cache. */
  readonly hosts: HostHub;
  /** Operator events (service crashed, host down, ...): sent to every session as MCP log messages and logged. */
  readonly events: EventBus;
  /** The opt-in audit log (config `auditLog`) of every call that can change something. */
  readonly audit?: AuditLog;
  /** The services' pass-through: their notifications, log level and hubs, for /mcp and the per-service endpoints. */
  readonly relay: Relay;
  /** Where a service is served as itself (/services/<name>/mcp), once HTTP listens. */
  serviceEndpoint(name: string): string | undefined;
  /** Set by the HTTP transport once it listens: the base URL the per-service endpoints hang off. */
  setHttpBase(url: string): void;
  /** Counts for /health and herd_status. */
  health(): { services: number; hosts: number };
  /** A fresh host I/O on this machine (peer mode's host tool set), closed at shutdown: tools never build backends. */
  localHostIO(): HostIO;
  /** Registers a step to run at shutdown (last registered runs first). */
  onShutdown(fn: () => Promise<void> | void): void;
  shutdown(): Promise<void>;
}

// Event levels that report things going well: a crash (warning) or giving up (error) is audited as not ok.
const QUIET_LEVELS: ReadonlySet<string> = new Set(["debug", "info", "notice"]);

/** Builds the shared state; registries add themselves here as their issues land. */
export function createApp(config: Config, log: Logger): App {
  const stops: Array<() => Promise<void> | void> = [];
  let stopping: Promise<void> | undefined;
  let httpBase: string | undefined;
  const events = new EventBus();
  events.on((e) => {
    const level = e.level === "debug" ? "debug" : e.level === "info" || e.level === "notice" ? "info" : e.level === "warning" ? "warn" : "error";
    log[level](`${e.logger}: ${e.message}`, e.data);
  });
  const services = new ServiceRegistry({
    config,
    log: log.child("services"),
    timing: timingFromEnv(process.env),
    events,
    peerFor: (host) => peerOfHost(hosts, host),
    endpointFor: (host, service, hub) => endpointOfHost(hosts, host, service, hub, { timeoutMs: config.peerTimeoutSeconds * 1000, log }),
  });
  const hosts = createHub(config, log.child("hosts"));
  hosts.probes.onStateChange((now, before) => events.emit(hostEvent(now, before)));
  const app: App = {
    config,
    log,
    version: VERSION,
    startedAt: Date.now(),
    providers: [serviceToolProvider(services, config)],
    services,
    hosts,
    events,
    relay: createRelay(services),
    audit: config.auditLog ? new AuditLog(config.auditLog, log.child("audit")) : undefined,
    serviceEndpoint: (name) => (httpBase ? `${httpBase}/services/${encodeURIComponent(name)}/mcp` : undefined),
    setHttpBase: (url) => void (httpBase = url),
    health: () => ({ services: services.list().length, hosts: hosts.registry.size }),
    localHostIO: () => {
      const io = new LocalHostIO();
      stops.push(() => io.close());
      return io;
    },
    onShutdown: (fn) => void stops.push(fn),
    shutdown: () =>
      (stopping ??= (async () => {
        for (const fn of stops.reverse()) {
          try {
            await fn();
          } catch (e) {
            log.warn("shutdown step failed", { error: (e as Error).message });
          }
        }
      })()),
  };
  app.onShutdown(() => services.stopAll());
  if (app.audit) {
    const audit = app.audit;
    // Spawns the supervisor makes on its own (restarts, start-up) are audited too.
    events.on((e) => {
      if (!e.logger.startsWith("service:")) return;
      const where = typeof e.data?.service === "string" ? e.data.service : undefined;
      audit.record({ who: "supervisor", what: `${e.logger} ${e.message}`, ...(where ? { where } : {}), ok: QUIET_LEVELS.has(e.level) });
    });
    app.onShutdown(() => audit.flush());
  }
  app.onShutdown(() => hosts.close());
  // Services from config and the state file start in the background: a slow or failing one never delays start-up.
  setImmediate(() => void services.startAll());
  return app;
}
