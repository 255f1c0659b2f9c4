import { errorResult, textResult, type ToolResult } from "../../backends/backend.js";
import { ensureMarked } from "../../backends/host-files.js";
import type { ExecResult } from "../../backends/host-io.js";
import { hostPath, type HostToolContext } from "./context.js";
import { DEFAULT_SHELL_TIMEOUT_S } from "./schemas.js";
import { ProgressLines } from "./progress.js";

type ShellArgs = { command: string; cwd?: string; timeout?: number; env?: Record<string, string> };
type BgArgs = { command: string; cwd?: string; log?: string; env?: Record<string, string> };

/** shell: runs the command under the host's process-group control and prints it lmcp-style. */
export async function runShell(args: ShellArgs, ctx: HostToolContext): Promise<ToolResult> {
  const timeoutS = args.timeout ?? DEFAULT_SHELL_TIMEOUT_S;
  const cwd = await hostPath(ctx, args.cwd);
  const progress = ctx.onProgress ? new ProgressLines(ctx.onProgress) : undefined;
  let r: ExecResult;
  try {
    r = await ctx.io.exec(
      { command: args.command, cwd, env: args.env, timeoutMs: timeoutS * 1000, maxOutputBytes: ctx.maxOutputBytes },
      { signal: ctx.signal, onOutput: progress ? (chunk) => progress.push(chunk.text) : undefined },
    );
  } finally {
    progress?.finish();
  }
  if (r.truncated) {
    r = { ...r, stdout: ensureMarked(r.stdout, ctx.maxOutputBytes), stderr: ensureMarked(r.stderr, ctx.maxOutputBytes) };
  }
  const data: Record<string, unknown> = {
    exit_code: r.exit_code,
    signal: r.signal,
    stdout: r.stdout,
    stderr: r.stderr,
    via: ctx.via,
    truncated: r.truncated,
    duration_ms: r.duration_ms,
    timed_out: r.timed_out,
  };
  if (r.killed !== undefined) data.killed = r.killed;
  if (r.stop_unconfirmed !== undefined) data.stop_unconfirmed = r.stop_unconfirmed;
  const text = shellText(r, timeoutS, ctx.signal?.aborted === true);
  return r.exit_code === 0 && !r.timed_out ? textResult(text, data) : errorResult(text, data);
}

/** The lmcp text: `[rc=N]` then stdout, then stderr under `[stderr]`. */
function shellText(r: ExecResult, timeoutS: number, aborted = false): string {
  let head: string;
  const stop = r.stop_unconfirmed ? "stop NOT confirmed, processes may remain" : "process group killed";
  if (r.timed_out) head = `[rc=${r.exit_code ?? "none"}] timed out after ${timeoutS}s; ${stop}`;
  else if (aborted) head = `[rc=${r.exit_code ?? "none"}] cancelled; ${stop}`;
  else if (r.exit_code === null) head = `[rc=none] killed by ${r.signal ?? "a signal"}`;
  else head = `[rc=${r.exit_code}]`;
  let text = `${head}\n${r.stdout}`;
  if (r.stderr !== "") text += `${text.endsWith("\n") ? "" : "\n"}[stderr]\n${r.stderr}`;
  return text;
}

/** shell_bg: starts a detached job and says where its output and exit code will be. */
export async function runShellBg(args: BgArgs, ctx: HostToolContext): Promise<ToolResult> {
  const cwd = await hostPath(ctx, args.cwd);
  const log = args.log === undefined ? undefined : await hostPath(ctx, args.log);
  const r = await ctx.io.execBg({ command: args.command, cwd, log, ...(args.env ? { env: args.env } : {}) });
  const text =
    `Started PID ${r.pid} (process group ${r.pgid}) in the background.\n` +
    `log: ${r.log}\nexit code: written to ${r.rc_file} when it ends`;
  return textResult(text, { pid: r.pid, pgid: r.pgid, log: r.log, rc_file: r.rc_file, via: ctx.via });
}
