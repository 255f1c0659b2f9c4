import type { Backend, ToolInfo } from "../backends/backend.js";
import type { ServiceHub } from "../backends/mcp/client-link.js";
import { ChildBackend, type EraVerdict, type ExitInfo } from "../backends/child/child.js";
import { isMcpChannel } from "../backends/mcp/channel.js";
import { PeerBackend } from "../backends/peer.js";
import type { Logger } from "../log.js";
import { ServiceError } from "./service-types.js";
import type { Launch } from "./types.js";

/** A started service's connection: a child process, or a remote MCP server over HTTP. */
export interface Live {
  backend: Backend;
  child?: ChildBackend;
}

export interface LaunchOptions {
  name: string;
  launch: Launch;
  /** The child's complete environment. */
  env: Record<string, string>;
  handshakeMs: number;
  callMs: number;
  killGraceMs: number;
  log: Logger;
  onLog(stream: "stderr" | "stdout", line: string): void;
  stderrTail(): string[];
  onExit(info: ExitInfo): void;
  onToolsChanged(): void;
  /** The service's pass-through hub (its requests to clients, its notifications, the log level). */
  hub?: ServiceHub;
  /** Notifications of the server that mcp-herd forwards (resources updated, list changes); see FORWARDED_NOTIFICATIONS. */
  onNotification?(method: string, params: Record<string, unknown> | undefined): void;
  /** The child exists (its pid can be shown, halt can kill it) or no longer does. */
  onPending(child: ChildBackend | undefined): void;
  /** The connection is up and tools/list is under way (halt must close it). */
  onLive(live: Live): void;
  /** False once a stop or a newer start took over: what was started is closed again. */
  stillWanted(): boolean;
  /** A local service's era verdict from its last run ("auto" or pinned): no probe this time. */
  prior?: EraVerdict;
}

/** The notifications of a service that the catalog of resources and prompts follows. */
export const FORWARDED_NOTIFICATIONS = [
  "notifications/resources/updated",
  "notifications/resources/list_changed",
  "notifications/prompts/list_changed",
] as const;

/** Starts one run of a service: spawn (or connect), initialize, tools/list, all within the handshake bound. */
export async function launchService(o: LaunchOptions): Promise<{ live: Live; tools: ToolInfo[] }> {
  const started = Date.now();
  let live: Live;
  if (o.launch.kind === "stdio") {
    const launch = o.launch;
    let attempt: ChildBackend | undefined;
    const start = async (prior: EraVerdict | undefined, handshakeTimeoutMs: number) => {
      const child = (attempt = ChildBackend.create({
        name: o.name,
        command: launch.command,
        args: launch.args,
        cwd: launch.cwd,
        env: o.env,
        log: o.log,
        onLog: o.onLog,
        stderrTail: o.stderrTail,
        onExit: o.onExit,
        onToolsChanged: o.onToolsChanged,
        hub: o.hub,
        handshakeTimeoutMs,
        killGraceMs: o.killGraceMs,
        protocol: launch.protocol,
        prior,
      }));
      follow(o, child);
      o.onPending(child);
      try {
        await child.connect();
      } finally {
        o.onPending(undefined);
      }
      return child;
    };
    let child: ChildBackend;
    try {
      child = await start(o.prior, o.handshakeMs);
    } catch (e) {
      // "auto" and a child that exits on the probe: that process was the probe's cost; a second one gets initialize.
      if (!attempt?.exitedOnProbe || !o.stillWanted()) throw e;
      o.log.info("service exited on the server/discover probe: starting it again with initialize", { service: o.name });
      // It gets what is left of the handshake bound.
      child = await start({ kind: "legacy" }, Math.max(1000, o.handshakeMs - (Date.now() - started)));
    }
    live = { backend: child, child };
  } else {
    const { url, headers, transport, protocol } = o.launch;
    const peer = new PeerBackend({ url, headers, transport, protocol, timeoutMs: o.handshakeMs, callTimeoutMs: o.callMs, log: o.log, hub: o.hub });
    // As for a child: the tools are listed again when the server says they changed.
    peer.onNotification("notifications/tools/list_changed", () => o.onToolsChanged());
    live = { backend: peer };
    follow(o, live.backend);
  }
  await unlessStopped(o, live);
  o.onLive(live);
  let tools: ToolInfo[];
  try {
    const left = Math.max(1000, o.handshakeMs - (Date.now() - started));
    tools = await withDeadline(
      live.child ? live.child.listTools({ timeoutMs: left }) : live.backend.listTools(),
      left,
      `service '${o.name}' did not answer tools/list within ${o.handshakeMs} ms`,
    );
  } catch (e) {
    await live.backend.close();
    throw e;
  }
  await unlessStopped(o, live);
  return { live, tools };
}

function follow(o: LaunchOptions, backend: unknown): void {
  const handle = o.onNotification;
  if (!handle || !isMcpChannel(backend)) return;
  for (const method of FORWARDED_NOTIFICATIONS) backend.onNotification(method, (params) => handle(method, params));
}

async function unlessStopped(o: LaunchOptions, live: Live): Promise<void> {
  if (o.stillWanted()) return;
  await live.backend.close();
  throw new ServiceError(`service '${o.name}' was stopped while starting`);
}

/** Rejects with `message` when `p` takes longer than `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
