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
