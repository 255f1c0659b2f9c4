/** MCP logging levels (RFC 5424 names, as the spec uses them). */
export type EventLevel = "debug" | "info" | "notice" | "warning" | "error" | "critical" | "alert" | "emergency";

/** Something an operator should see: a service started or crashed, a host went down or came back. */
export interface HerdEvent {
  level: EventLevel;
  /** What it is about: "service:<name>", "host:<name>", "herd". */
  logger: string;
  message: string;
  data?: Record<string, unknown>;
}

/** Fans events out to every connected session (as notifications/message) and to the log. */
export class EventBus {
  private readonly listeners = new Set<(e: HerdEvent) => void>();

  on(listener: (e: HerdEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: HerdEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure (a closed session) never stops the others.
      }
    }
  }
}

/** The parts of a probed host's status an event tells about. */
export interface HostStateChange {
  name: string;
  state: "UP" | "DOWN";
  via?: string;
  error?: string;
  since: string;
}

/** A host went DOWN (warning, with why) or came back UP (info, with how long it was down). */
export function hostEvent(now: HostStateChange, before?: HostStateChange): HerdEvent {
  const logger = `host:${now.name}`;
  if (now.state === "DOWN") {
    return {
      level: "warning",
      logger,
      message: `host '${now.name}' is DOWN: ${now.error ?? "no path answered"}; remote_* calls to it fail until it answers again`,
      data: { host: now.name, state: now.state, since: now.since, ...(now.error ? { error: now.error } : {}) },
    };
  }
  const down = before ? ` (down since ${before.since})` : "";
  return {
    level: "info",
    logger,
    message: `host '${now.name}' is back UP${now.via ? ` via ${now.via}` : ""}${down}`,
    data: { host: now.name, state: now.state, since: now.since, ...(now.via ? { via: now.via } : {}) },
  };
}
