import type { CallOptions, ServerIdentity, ToolInfo, ToolResult } from "../backends/backend.js";
import type { ServiceHub } from "../backends/mcp/client-link.js";
import type { ServerCaps } from "../backends/mcp/channel.js";
import type { ServiceSpec } from "../config.js";
import type { EventLevel } from "../events.js";
import type { LogLine } from "./logs.js";
import type { SourceKind } from "./types.js";

/** Every state a service can be in, for the status enum of the service tools' output. */
export const SERVICE_STATES = ["installing", "starting", "running", "restarting", "crashed", "failed", "stopped", "unreachable"] as const;

/** `unreachable`: a service on another host whose mcp-herd peer does not answer (kept, not lost). */
export type ServiceState = (typeof SERVICE_STATES)[number];

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

/** The supervisor's intervals when neither config nor environment sets them. */
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

/** A call or operation refused because of the service's state; the message says what to do. */
export class ServiceError extends Error {
  override readonly name = "ServiceError";
}

export interface LastExit {
  code: number | null;
  signal: string | null;
  reason: string;
  at: string;
}

/** What service_list shows for one service. */
export interface ServiceInfo {
  name: string;
  /** Where it runs: "local", or the host whose mcp-herd peer runs it. */
  host: string;
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
  /** Remarks beside the status: renamed from a client config, resource URIs another service owns, left out at start-up. */
  notes?: string[];
  /** Set when the state file could not be written: the service runs but will not come back after a restart. */
  state_error?: string;
}

/** Reports an operator event about this service (sent as an MCP log message and logged). */
export type EmitEvent = (level: EventLevel, message: string, data?: Record<string, unknown>) => void;

/** What the registry and the tools need of a service, wherever it runs. */
export interface Supervised {
  readonly name: string;
  readonly spec: ServiceSpec;
  /** "local" or the host name. */
  readonly host: string;
  readonly state: ServiceState;
  readonly tools: ToolInfo[];
  readonly restarts: number;
  readonly pid: number | null;
  /** True while installing or in its first handshake: a new load or an unload may cancel it. */
  readonly preemptible: boolean;
  /** First start; `adopt` (start-up from config or state) keeps one already running on its host; `reuseClone`: see PrepareOptions. */
  start(onPhase?: (message: string) => void, opts?: { adopt?: boolean; reuseClone?: boolean }): Promise<void>;
  restart(): Promise<void>;
  /** Lets go of the service here (a local one is stopped with its tree; a remote one keeps running there). */
  stop(): Promise<void>;
  /** Ends the service where it runs (service_unload). */
  remove(): Promise<void>;
  call(tool: string, args: Record<string, unknown>, opts?: CallOptions): Promise<ToolResult>;
  /** Pass-through (per-service endpoint, resources, prompts); absent for a service on another host. */
  readonly hub?: ServiceHub;
  /** Forwards one MCP request (resources, prompts, completions, ...) to the running server; absent where it cannot be reached directly. */
  request?(method: string, params: Record<string, unknown> | undefined, opts?: CallOptions): Promise<Record<string, unknown>>;
  identity?(): ServerIdentity | undefined;
  /** The era mcp-herd speaks to the running server; undefined while it is not running or where unknown. */
  era?(): "legacy" | "modern" | undefined;
  /** What the running server declared in initialize; undefined while it is not running. */
  readonly capabilities?: ServerCaps;
  info(): ServiceInfo;
  readLogs(lines: number, since?: string, stream?: LogLine["stream"]): Promise<LogLine[]>;
}
