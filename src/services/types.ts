import type { ProtocolChoice, ServiceSpec } from "../config.js";
import type { Logger } from "../log.js";

/** How to start a prepared local service: an argument vector, never a shell string. */
export interface StdioLaunch {
  kind: "stdio";
  command: string;
  args: string[];
  cwd?: string;
  /** Extra environment on top of the inherited one (the service's `env` and e.g. a venv's PATH). */
  env: Record<string, string>;
  /** The protocol era to speak to the child; default legacy (a probe goes to the child itself, see ChildBackend). */
  protocol?: ProtocolChoice;
}

/** A remote streamable HTTP MCP server. */
export interface UrlLaunch {
  kind: "url";
  url: string;
  headers: Record<string, string>;
  /** "sse": the legacy HTTP+SSE transport; default streamable HTTP. */
  transport?: "sse";
  /** The protocol era to speak (streamable HTTP only); default legacy. */
  protocol?: ProtocolChoice;
}

export type Launch = StdioLaunch | UrlLaunch;

export type SourceKind = "path" | "git" | "npm" | "python" | "command" | "url";

export interface PrepareOptions {
  /** Root of mcp-herd's state (services/, cache/ live under it). */
  stateDir: string;
  /** Bound on the install phase (clone + dependency install); default 5 min. */
  installTimeoutMs: number;
  signal?: AbortSignal;
  /** Phase changes and installer output lines, for status and progress. */
  onPhase?: (phase: "resolving" | "cloning" | "installing", detail?: string) => void;
  log: Logger;
  /** Another mcp-herd process sharing the state folder made this service's clone: use it rather than replace it under its running service. */
  reuseClone?: boolean;
}

export interface Prepared {
  source: SourceKind;
  launch: Launch;
  /** Time spent cloning and installing (0 when cached or nothing to install). */
  install_ms: number;
  /** Human-readable description of what was resolved (runtime, entry, package bin, ...). */
  detail: string;
}

/** Validates a service spec and prepares it (clone, install, resolve entry) without starting it. */
export type PrepareSource = (name: string, spec: ServiceSpec, opts: PrepareOptions) => Promise<Prepared>;
