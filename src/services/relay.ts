import { mostVerbose, type ServiceHub } from "../backends/mcp/client-link.js";
import type { ServiceRegistry } from "./registry.js";

/** A notification of a service, with the service's name. */
export type RelayListener = (service: string, method: string, params: Record<string, unknown> | undefined) => void;

/** What every session shares of the services' pass-through: their notifications, the log level, their hubs. */
export interface Relay {
  /** Every service's notifications (log messages, list changes, resource updates, ...). */
  onNotification(listener: RelayListener): () => void;
  /** A session's logging/setLevel (undefined when it closes): children get the most verbose level set. */
  setLogLevel(session: string, level: string | undefined): void;
  /** The running service's hub, or undefined. */
  hub(service: string): ServiceHub | undefined;
}

/** Follows the registry: each service's hub is subscribed once and gets the sessions' log level. */
export function createRelay(services: ServiceRegistry): Relay {
  const listeners = new Set<RelayListener>();
  const levels = new Map<string, string>();
  const seen = new WeakSet<ServiceHub>();
  let level: string | undefined;
  const follow = () => {
    for (const svc of services.list()) {
      const hub = svc.hub;
      if (!hub) continue;
      hub.setLogLevel(level);
      if (seen.has(hub)) continue;
      seen.add(hub);
      const name = svc.name;
      hub.onNotification((method, params) => {
        for (const l of listeners) l(name, method, params);
      });
    }
  };
  services.onChange(follow);
  return {
    onNotification(listener) {
      follow();
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setLogLevel(session, l) {
      if (l === undefined) levels.delete(session);
      else levels.set(session, l);
      level = mostVerbose(levels.values());
      follow();
    },
    hub: (service) => services.get(service)?.hub,
  };
}
