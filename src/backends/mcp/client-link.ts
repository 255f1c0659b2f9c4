import { ProtocolErrorCode } from "@modelcontextprotocol/client";
import { RemoteRpcError, remoteError } from "./passthrough.js";

/** One end-client session as a service sees it: whom to ask when the service asks something back. */
export interface ClientLink {
  /** The session, for logs and to tell sessions apart. */
  readonly session: string;
  /** The client's declared capabilities (undefined before initialize). */
  capabilities(): Record<string, unknown> | undefined;
  /** Sends a request to the client: on the stream of the call in flight when the link belongs to one. */
  request(method: string, params: Record<string, unknown> | undefined, opts: { signal: AbortSignal; timeoutMs: number }): Promise<Record<string, unknown>>;
  /** The same session outside any call, while it is still open (used when no call is in flight). */
  idle(): ClientLink | undefined;
}

/** A running backend as the hub drives it. */
export interface HubTarget {
  notify(method: string, params?: Record<string, unknown>): Promise<void>;
  setLogLevel(level: string): Promise<void>;
}

export type NotificationListener = (method: string, params: Record<string, unknown> | undefined) => void;

// Client requests a server may send, and the capability each needs (MCP spec: client features).
const NEEDS: Record<string, (caps: Record<string, unknown>, params: Record<string, unknown> | undefined) => string | undefined> = {
  "roots/list": (c) => (c.roots ? undefined : "roots"),
  "sampling/createMessage": (c) => (c.sampling ? undefined : "sampling"),
  "elicitation/create": (c, p) => {
    const e = c.elicitation as Record<string, unknown> | undefined;
    if (!e) return "elicitation";
    if (p?.mode === "url" && !e.url) return "elicitation.url";
    if (p?.mode !== "url" && Object.keys(e).length > 0 && !e.form) return "elicitation.form";
    return undefined;
  },
};

// A person may be answering (sampling, elicitation): long, but bounded.
const HUMAN_WAIT_MS = 10 * 60_000;
const MACHINE_WAIT_MS = 30_000;
const LOG_BUDGET_PER_S = 100;
const MAX_USERS = 1024;
const MAX_TASKS = 1024;
// MCP spec basic/utilities/tasks: the _meta key a request made on behalf of a task carries.
const RELATED_TASK = "io.modelcontextprotocol/related-task";
const MAX_LOG_TEXT = 2000;

/**
 * Per service, across its restarts: which client sessions have calls in flight (to route the service's
 * own requests), its notifications fanned out to listeners, the log level the sessions asked for.
 */
export class ServiceHub {
  private readonly calls: ClientLink[] = [];
  private lastUser?: ClientLink;
  private readonly users = new Set<string>();
  private readonly tasks = new Map<string, ClientLink>();
  private readonly listeners = new Set<NotificationListener>();
  private target?: HubTarget;
  private level?: string;
  private logsThisSecond = 0;
  private dropped = 0;
  private windowTimer?: NodeJS.Timeout;

  constructor(
    readonly service: string,
    private readonly onLogLine: (text: string) => void = () => {},
  ) {}

  /** Runs fn as a call of `link`: the service's requests meanwhile may be routed to it. */
  async during<T>(link: ClientLink | undefined, fn: () => Promise<T>): Promise<T> {
    if (!link) return fn();
    this.calls.push(link);
    this.touch(link);
    try {
      const result = await fn();
      this.rememberTask(result, link);
      return result;
    } finally {
      this.calls.splice(this.calls.lastIndexOf(link), 1);
    }
  }

  /** Records a session that uses the service outside a call (a per-service endpoint session). */
  touch(link: ClientLink): void {
    this.lastUser = link;
    if (this.users.has(link.session)) return;
    this.users.add(link.session);
    if (this.users.size > MAX_USERS) this.users.delete(this.users.values().next().value!);
    // A server that takes its folders from the client's roots learns there is a client to ask.
    if (link.capabilities()?.roots) void this.notifyService("notifications/roots/list_changed");
  }

  /** True when the session has used the service (its roots/list_changed is passed on to it). */
  usedBy(session: string): boolean {
    return this.users.has(session);
  }

  /**
   * The session a request of the service goes to: the session that created the task the request names
   * (its call in flight, else the session itself); else the most recent call in flight; else the last user still open.
   */
  pick(params?: Record<string, unknown>): ClientLink | undefined {
    const owner = this.taskOwner(params);
    if (owner) return this.calls.findLast((c) => c.session === owner.session) ?? owner.idle();
    const call = this.calls[this.calls.length - 1];
    if (call) return call;
    return this.lastUser?.idle();
  }

  /** Answers a request the service sent us (roots, sampling, elicitation, anything else) by asking a client. */
  async answer(method: string, params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<Record<string, unknown>> {
    const link = this.pick(params);
    if (!link) {
      throw new RemoteRpcError(
        ProtocolErrorCode.MethodNotFound,
        `mcp-herd: no client session has a call in flight to service '${this.service}' or used it before, so ${method} has no one to answer it`,
      );
    }
    const need = NEEDS[method];
    const missing = need ? need(link.capabilities() ?? {}, params) : undefined;
    if (missing) {
      throw new RemoteRpcError(
        ProtocolErrorCode.MethodNotFound,
        `mcp-herd: the client session calling service '${this.service}' does not support ${missing} (no '${missing}' capability), so ${method} cannot be answered`,
      );
    }
    const timeoutMs = method === "roots/list" ? MACHINE_WAIT_MS : HUMAN_WAIT_MS;
    try {
      return await link.request(method, params, { signal, timeoutMs });
    } catch (e) {
      throw remoteError(e) ?? new RemoteRpcError(ProtocolErrorCode.InternalError, `mcp-herd: ${method} to the client failed: ${(e as Error).message}`);
    }
  }

  /** Hands a notification of the service to every listener; log messages are bounded per second. */
  notified(method: string, params: Record<string, unknown> | undefined): void {
    if (method === "notifications/message") {
      if (!this.admitLog()) return;
      this.onLogLine(logText(params));
    }
    for (const l of this.listeners) l(method, params);
  }

  /** Subscribes to the service's notifications; returns an unsubscribe. */
  onNotification(listener: NotificationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A backend that is now running: it gets the current log level. */
  attach(target: HubTarget): void {
    this.target = target;
    if (this.level) target.setLogLevel(this.level).catch(() => undefined);
  }

  detach(target: HubTarget): void {
    if (this.target === target) this.target = undefined;
  }

  /** Passes a notification of a client to the running service (roots/list_changed, cancelled, ...). */
  async notifyService(method: string, params?: Record<string, unknown>): Promise<void> {
    await this.target?.notify(method, params).catch(() => undefined);
  }

  /** The most verbose level any session asked for; sent now and after each restart. */
  setLogLevel(level: string | undefined): void {
    if (level === this.level) return;
    this.level = level;
    if (level && this.target) this.target.setLogLevel(level).catch(() => undefined);
  }

  // A task-augmented call answers with the task: requests naming it later belong to this session.
  private rememberTask(result: unknown, link: ClientLink): void {
    if (typeof result !== "object" || result === null || !("task" in result)) return;
    const taskId = (result as { task?: { taskId?: unknown } }).task?.taskId;
    if (typeof taskId !== "string") return;
    this.tasks.set(taskId, link);
    if (this.tasks.size > MAX_TASKS) this.tasks.delete(this.tasks.keys().next().value!);
  }

  private taskOwner(params: Record<string, unknown> | undefined): ClientLink | undefined {
    const related = (params?._meta as Record<string, unknown> | undefined)?.[RELATED_TASK] as { taskId?: unknown } | undefined;
    return typeof related?.taskId === "string" ? this.tasks.get(related.taskId) : undefined;
  }

  private admitLog(): boolean {
    if (!this.windowTimer) {
      this.windowTimer = setTimeout(() => this.closeWindow(), 1000);
      this.windowTimer.unref();
    }
    if (++this.logsThisSecond <= LOG_BUDGET_PER_S) return true;
    this.dropped++;
    return false;
  }

  private closeWindow(): void {
    this.windowTimer = undefined;
    this.logsThisSecond = 0;
    if (this.dropped === 0) return;
    const note = `mcp-herd dropped ${this.dropped} log message(s) of service '${this.service}' (more than ${LOG_BUDGET_PER_S} a second)`;
    this.dropped = 0;
    this.onLogLine(note);
    for (const l of this.listeners) l("notifications/message", { level: "warning", logger: "mcp-herd", data: note });
  }
}

function logText(params: Record<string, unknown> | undefined): string {
  const data = params?.data;
  const text = typeof data === "string" ? data : JSON.stringify(data);
  const logger = typeof params?.logger === "string" ? ` ${params.logger}` : "";
  const line = `[${String(params?.level ?? "info")}${logger}] ${text ?? ""}`;
  return line.length > MAX_LOG_TEXT ? `${line.slice(0, MAX_LOG_TEXT)}…` : line;
}

/** Levels of MCP logging from the most to the least verbose. */
export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;

/** The most verbose of the levels the sessions set, or undefined when none did. */
export function mostVerbose(levels: Iterable<string>): string | undefined {
  let best: number | undefined;
  for (const l of levels) {
    const i = LOG_LEVELS.indexOf(l as (typeof LOG_LEVELS)[number]);
    if (i >= 0 && (best === undefined || i < best)) best = i;
  }
  return best === undefined ? undefined : LOG_LEVELS[best];
}
