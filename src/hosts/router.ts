import {
  TransportError,
  errorResult,
  type Backend,
  type BackendKind,
  type CallOptions,
  type ToolResult,
} from "../backends/backend.js";
import type { Logger } from "../log.js";
import { HostUnreachableError } from "../backends/host-io.js";
import type { Host, HostRegistry } from "./registry.js";

export interface RouterOptions {
  /** Added to a shell call's own timeout to bound the peer's answer. */
  peerTimeoutMs: number;
  log: Logger;
}

/** A call's result, whether every path was unreachable, and the path that answered. */
export interface Attempt {
  result: ToolResult;
  down: boolean;
  via?: BackendKind;
}

/** True for failures that mean "this path is down", the only ones the router falls back on. */
function isTransportFailure(e: unknown): boolean {
  return e instanceof TransportError || e instanceof HostUnreachableError;
}

/** Sends a host tool call down a host's paths in order, falling back only when a path cannot be reached. */
export class Router {
  constructor(
    private readonly registry: HostRegistry,
    private readonly opts: RouterOptions,
  ) {}

  /** The host, or an error result that lists the known hosts (nothing is contacted). */
  resolve(name: string): { host: Host } | { error: ToolResult } {
    const host = this.registry.get(name);
    if (host) return { host };
    const known = this.registry.names();
    return { error: errorResult(
      `unknown host '${name}': known hosts are ${known.length ? known.join(", ") : "(none)"}. ` +
        `Add it to the host registry (--hosts FILE, config "hosts") and see remote_list_hosts.`,
    ) };
  }

  async call(hostName: string, tool: string, args: Record<string, unknown>, opts: CallOptions = {}): Promise<ToolResult> {
    return (await this.attempt(hostName, tool, args, opts)).result;
  }

  /** Like call, and also says whether the host was down (no path reached it) and which path served it. */
  async attempt(hostName: string, tool: string, args: Record<string, unknown>, opts: CallOptions = {}): Promise<Attempt> {
    const found = this.resolve(hostName);
    if ("error" in found) return { result: found.error, down: false };
    const host = found.host;
    const failures: string[] = [];
    for (const backend of host.backends()) {
      if (opts.signal?.aborted) break;
      try {
        const result = await backend.callTool(tool, args, this.callOptions(backend, tool, args, opts));
        if (failures.length) this.opts.log.info("served by fallback path", { host: hostName, tool, via: backend.kind, failed: failures.join(" | ") });
        return { result: withVia(result, { via: backend.kind, host: host.name, tool, failures }), down: false, via: backend.kind };
      } catch (e) {
        if (opts.signal?.aborted) break;
        if (!isTransportFailure(e)) {
          this.opts.log.warn("host tool threw", { host: hostName, tool, via: backend.kind, error: (e as Error).message });
          return { result: errorResult(`${tool} on host '${host.name}' failed (via ${backend.kind}): ${(e as Error).message}`), down: false, via: backend.kind };
        }
        failures.push(`${backend.kind}: ${(e as Error).message}`);
        this.opts.log.debug("path down", { host: hostName, tool, via: backend.kind, error: (e as Error).message });
      }
    }
    if (opts.signal?.aborted) return { result: errorResult(`${tool} on host '${host.name}' was cancelled`), down: false };
    return { result: errorResult(`${tool} on host '${host.name}': every path failed: ${failures.join(" | ")}`), down: true };
  }

  private callOptions(backend: Backend, tool: string, args: Record<string, unknown>, opts: CallOptions): CallOptions {
    if (backend.kind !== "peer" || opts.timeoutMs !== undefined) return opts;
    const shellTimeout = tool === "shell" && typeof args.timeout === "number" ? args.timeout * 1000 : undefined;
    return shellTimeout === undefined ? opts : { ...opts, timeoutMs: shellTimeout + this.opts.peerTimeoutMs };
  }
}

/** Marks which path answered: `via` in structuredContent, and a note in the text when a fallback served it. */
function withVia(
  result: ToolResult,
  { via, host, tool, failures }: { via: BackendKind; host: string; tool: string; failures: string[] },
): ToolResult {
  const out: ToolResult = { ...result };
  if (out.structuredContent && typeof out.structuredContent === "object") {
    out.structuredContent = { ...out.structuredContent, via };
  } else if (!out.isError) {
    out.structuredContent = { via, ...(tool === "shell" ? lmcpShell(result) : {}) };
  }
  if (failures.length && Array.isArray(out.content)) {
    const note = { type: "text" as const, text: `[via ${via} fallback on '${host}': ${failures.join(" | ")}]` };
    out.content = [...out.content, note];
  }
  return out;
}

/** An lmcp host answers shell with text only (`[rc=N]` then output): recover the exit code from it. */
function lmcpShell(result: ToolResult): Record<string, unknown> {
  const first = result.content?.[0];
  if (first?.type !== "text") return {};
  const m = /^\[rc=(-?\d+)\]\r?\n?/.exec(first.text);
  return m ? { exit_code: Number(m[1]), stdout: first.text.slice(m[0].length) } : {};
}
