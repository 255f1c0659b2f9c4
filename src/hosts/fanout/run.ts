import { errorResult, resultText, textResult, type CallOptions, type Progress, type ToolResult } from "../../backends/backend.js";
import { DEFAULT_PARALLEL, fanOut, foldedText, summarize, type HostOutcome } from "./fanout.js";
import { FanoutProgress } from "./progress.js";
import type { HostHub } from "../hub.js";
import type { Attempt } from "../router.js";
import { DEFAULT_SHELL_TIMEOUT_S } from "../toolset/schemas.js";
import { boundResult } from "../toolset/bound.js";

/** What a remote_X call asks for beyond the host tool's own arguments. */
export interface HubCallOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** shell only: "background" turns a command that outruns its timeout into a job. */
  onTimeout?: "kill" | "background";
  parallel?: number;
}

// Why: one host tool call on one host, through the router, or as a job for shell with on_timeout "background".
export function callHost(hub: HostHub, host: string, tool: string, args: Record<string, unknown>, opts: HubCallOptions): Promise<Attempt> {
  const callOpts: CallOptions = { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) };
  const attempt =
    tool === "shell" && opts.onTimeout === "background"
      ? hub.jobs.shellOrBackground(host, args as { command: string; cwd?: string; timeout?: number; env?: Record<string, string> }, callOpts)
      : hub.router.attempt(host, tool, args, callOpts);
  // A peer (an lmcp host, say) may answer more than a client can take in one message.
  return attempt.then((a) => ({ ...a, result: boundResult(a.result) }));
}

// Why: one call on many hosts at once, each bounded, one section per distinct output, and every host's result.
export async function runFanout(hub: HostHub, tool: string, names: string[], args: Record<string, unknown>, opts: HubCallOptions): Promise<ToolResult> {
  const timeoutS = tool === "shell" && typeof args.timeout === "number" ? args.timeout : tool === "shell" ? DEFAULT_SHELL_TIMEOUT_S : 60;
  const boundMs = hub.connectTimeoutMs + timeoutS * 1000 + 10_000;
  const progress = opts.onProgress ? new FanoutProgress(names.length, opts.onProgress) : undefined;
  const runOne = async (host: string): Promise<HostOutcome> => {
    const started = Date.now();
    const bound = AbortSignal.timeout(boundMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, bound]) : bound;
    const onProgress = progress ? (p: Progress) => progress.line(host, p.message) : undefined;
    const attempt = await callHost(hub, host, tool, args, { ...opts, signal, ...(onProgress ? { onProgress } : {}) });
    if (bound.aborted && !opts.signal?.aborted) {
      return { host, ok: false, status: "down", error: `no answer within ${Math.round(boundMs / 1000)}s`, duration_ms: Date.now() - started };
    }
    return toOutcome(host, tool, attempt, Date.now() - started);
  };
  const results = await fanOut(names, opts.parallel ?? DEFAULT_PARALLEL, async (host) => {
    let outcome: HostOutcome | undefined;
    try {
      return (outcome = await runOne(host));
    } finally {
      progress?.hostDone(host, outcome?.status ?? "failed");
    }
  });
  const sum = summarize(results);
  const text = foldedText(results, sum);
  const data = { ...sum, results };
  // Each host's result is bounded, but many of them together are one message: bound that too.
  return boundResult(sum.ok_count === results.length ? textResult(text, data) : errorResult(text, data));
}

/** One host's result reduced to the fan-out fields. */
function toOutcome(host: string, tool: string, a: Attempt, durationMs: number): HostOutcome {
  const sc = (a.result.structuredContent ?? {}) as Record<string, unknown>;
  const status: HostOutcome["status"] = a.down ? "down" : a.result.isError ? "failed" : "ok";
  const o: HostOutcome = { host, ok: status === "ok", status, duration_ms: typeof sc.duration_ms === "number" ? sc.duration_ms : durationMs };
  const via = typeof sc.via === "string" ? sc.via : a.via;
  if (via) o.via = via;
  if (tool === "shell") {
    if (typeof sc.exit_code === "number" || sc.exit_code === null) o.exit_code = sc.exit_code as number | null;
    if (typeof sc.stdout === "string") o.stdout = sc.stdout;
    if (typeof sc.stderr === "string") o.stderr = sc.stderr;
    if (sc.timed_out === true) o.timed_out = true;
    if (typeof sc.job === "string") o.job = sc.job;
    if (status !== "ok" && (o.exit_code === undefined || o.timed_out || o.exit_code === null)) o.error = firstLine(resultText(a.result));
  } else if (tool === "read_file" && typeof sc.content === "string") {
    o.content = sc.content;
  }
  if (status !== "ok" && o.error === undefined && o.exit_code === undefined) o.error = resultText(a.result);
  return o;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? "";
}
