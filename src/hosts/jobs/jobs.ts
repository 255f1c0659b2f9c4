import { errorResult, resultText, textResult, type CallOptions, type ToolResult } from "../../backends/backend.js";
import { formatJobId, jobRefProblem, parseJobId, rcFile, type JobRef } from "./id.js";
import { INSPECT_SCRIPT, KILL_SCRIPT, WAIT_SCRIPT } from "./scripts.js";
import type { JobRecord, JobStore } from "./store.js";
import type { Attempt, Router } from "../router.js";
import { DEFAULT_SHELL_TIMEOUT_S } from "../toolset/schemas.js";

/** Signals remote_job_kill may send. */
export const JOB_SIGNALS = ["TERM", "INT", "HUP", "QUIT", "KILL"] as const;
export type JobSignal = (typeof JOB_SIGNALS)[number];
/** Default and largest slice of a log one call returns (base64 of it must fit the shell's 1 MiB output). */
export const DEFAULT_OUTPUT_BYTES = 64 * 1024;
export const MAX_OUTPUT_BYTES = 512 * 1024;

/** A job as remote_job_status reports it. */
export interface JobState {
  job: string;
  host: string;
  pid: number;
  pgid: number;
  log: string;
  rc_file: string;
  /** running; exited (exit code known); killed (by remote_job_kill); gone (ended without an exit code). */
  state: "running" | "exited" | "killed" | "gone";
  exit_code: number | null;
  /** Whether any process of its group is still alive (a job's leftovers may outlive its exit). */
  group_alive: boolean;
  log_size: number | null;
  command?: string;
  started_at?: string;
}

/** A slice of a job's log, byte-exact: `next_offset` is where the next read starts. */
export interface JobOutput extends JobState {
  offset: number;
  next_offset: number;
  output: string;
  /** True when the slice reaches the current end of the log. */
  eof: boolean;
}

type Failed = { error: ToolResult };

// Why: background jobs on any host, started with shell_bg and then inspected, followed and stopped with shell.
export class JobManager {
  constructor(
    private readonly router: Router,
    readonly store: JobStore,
  ) {}

  /** Starts a job with the host's shell_bg, records it, and adds its `job` id to the result. */
  async start(host: string, args: { command: string; cwd?: string; log?: string; env?: Record<string, string> }, opts: CallOptions = {}): Promise<Attempt & { ref?: JobRef }> {
    const attempt = await this.router.attempt(host, "shell_bg", args, { ...(opts.signal ? { signal: opts.signal } : {}) });
    const { result } = attempt;
    const data = result.structuredContent as { pid?: unknown; pgid?: unknown; log?: unknown; via?: unknown } | undefined;
    if (result.isError || typeof data?.pid !== "number" || typeof data.log !== "string") return attempt;
    const ref: JobRef = { host, pid: data.pid, pgid: typeof data.pgid === "number" ? data.pgid : data.pid, log: data.log };
    if (jobRefProblem(ref)) return attempt;
    const id = formatJobId(ref);
    const via = typeof data.via === "string" ? data.via : undefined;
    await this.store.add({
      id,
      ...ref,
      rc_file: rcFile(ref),
      command: args.command.slice(0, 2000),
      ...(via ? { via } : {}),
      started_at: new Date().toISOString(),
    });
    const text = `${resultText(result)}\njob: ${id}\nfollow with remote_job_output, stop with remote_job_kill`;
    return { ...attempt, result: { ...result, content: [{ type: "text", text }], structuredContent: { ...data, job: id } }, ref };
  }

  async status(id: string, opts: CallOptions = {}): Promise<JobState | Failed> {
    const r = await this.inspect(id, 0, 0, opts);
    return "error" in r ? r : r.state;
  }

  /** Reads the log from a byte offset (or its end, with `lines` and no offset); at most maxBytes. */
  async output(id: string, req: { offset?: number; lines?: number; maxBytes?: number }, opts: CallOptions = {}): Promise<JobOutput | Failed> {
    const max = Math.min(req.maxBytes ?? DEFAULT_OUTPUT_BYTES, MAX_OUTPUT_BYTES);
    const tail = req.offset === undefined && req.lines !== undefined;
    const r = await this.inspect(id, tail ? "tail" : (req.offset ?? 0), max, opts);
    if ("error" in r) return r;
    let bytes = r.bytes;
    let start = r.offset;
    const ended = r.state.state !== "running";
    const atEnd = r.state.log_size !== null && r.offset + bytes.length >= r.state.log_size;
    if (!(ended && atEnd)) bytes = completeUtf8(bytes);
    if (req.lines !== undefined && tail) {
      const from = lastLinesStart(bytes, req.lines);
      start += from;
      bytes = bytes.subarray(from);
    } else if (req.lines !== undefined) {
      bytes = bytes.subarray(0, firstLinesEnd(bytes, req.lines));
    }
    const next = start + bytes.length;
    return { ...r.state, offset: start, next_offset: next, output: bytes.toString("utf8"), eof: r.state.log_size === null || next >= r.state.log_size };
  }

  /** Signals the job's whole process group, escalates to KILL after the grace period, and confirms it is gone. */
  async kill(id: string, signal: JobSignal, graceS: number, opts: CallOptions = {}): Promise<{ outcome: string; gone: boolean; state: JobState } | Failed> {
    const ref = parseJobId(id);
    if ("error" in ref) return { error: errorResult(ref.error) };
    const env = { ...jobEnv(ref), HERD_SIG: signal, HERD_GRACE_POLLS: String(Math.max(1, Math.round(graceS * 20))) };
    const r = await this.router.call(ref.host, "shell", { command: KILL_SCRIPT, env, timeout: graceS + 15 }, opts);
    const outcome = stdoutOf(r).trim();
    if (!/^(already-gone|gone|gone-after-kill|alive)$/.test(outcome)) {
      return { error: errorResult(`remote_job_kill ${id}: the kill script on '${ref.host}' failed: ${resultText(r).slice(0, 500)}`) };
    }
    if (outcome !== "already-gone") await this.store.update(id, { killed_at: new Date().toISOString(), kill_signal: outcome === "gone-after-kill" ? `${signal}+KILL` : signal });
    const state = await this.status(id, opts);
    if ("error" in state) return state;
    return { outcome, gone: outcome !== "alive", state };
  }

  /** shell with on_timeout "background": runs as a job, waits up to the timeout, and leaves it running past it. */
  async shellOrBackground(host: string, args: { command: string; cwd?: string; timeout?: number; env?: Record<string, string> }, opts: CallOptions = {}): Promise<Attempt> {
    const attempt = await this.run(host, args, opts);
    return isAttempt(attempt) ? attempt : { result: attempt, down: false };
  }

  private async run(host: string, args: { command: string; cwd?: string; timeout?: number; env?: Record<string, string> }, opts: CallOptions): Promise<ToolResult | Attempt> {
    const started = Date.now();
    const timeoutS = args.timeout ?? DEFAULT_SHELL_TIMEOUT_S;
    const { result, ref, down } = await this.start(host, { command: args.command, ...(args.cwd ? { cwd: args.cwd } : {}), ...(args.env ? { env: args.env } : {}) }, opts);
    if (!ref) return result.isError ? { result, down } : errorResult(`shell on '${host}': the host's shell_bg gave no pid and log, so on_timeout "background" cannot follow it: ${resultText(result)}`);
    const id = formatJobId(ref);
    const via = (result.structuredContent as { via?: string }).via;
    const left = Math.max(0.5, timeoutS - (Date.now() - started) / 1000);
    const env = { ...jobEnv(ref), HERD_FOLLOW: opts.onProgress ? "1" : "0" };
    await this.router.call(host, "shell", { command: WAIT_SCRIPT, env, timeout: left }, opts);
    if (opts.signal?.aborted) {
      await this.kill(id, "TERM", 2).catch(() => undefined);
      return errorResult(`shell on '${host}' was cancelled; job ${id} was stopped`);
    }
    const out = await this.output(id, { offset: 0, maxBytes: MAX_OUTPUT_BYTES });
    if ("error" in out) return out.error;
    const truncated = !out.eof;
    const more = truncated ? `\n[... more output: remote_job_output { job, offset: ${out.next_offset} } ...]\n` : "";
    const data = {
      exit_code: out.exit_code,
      signal: null,
      stdout: out.output + more,
      stderr: "",
      via,
      truncated,
      duration_ms: Date.now() - started,
      timed_out: out.state === "running",
      job: id,
      next_offset: out.next_offset,
      backgrounded: out.state === "running",
    };
    if (out.state === "running") {
      const text =
        `[running] still running after ${timeoutS}s: continues in the background as job ${id}\n` +
        `follow with remote_job_output { job, offset: ${out.next_offset} }; stop with remote_job_kill. Output so far (stdout+stderr):\n${out.output}${more}`;
      return textResult(text, data);
    }
    const text = `[rc=${out.exit_code ?? "none"}]${out.state === "exited" ? "" : ` job ${out.state}`}\n${out.output}${more}`;
    return out.exit_code === 0 ? textResult(text, data) : errorResult(text, data);
  }

  private async inspect(id: string, offset: number | "tail", max: number, opts: CallOptions): Promise<{ state: JobState; offset: number; bytes: Buffer } | Failed> {
    const ref = parseJobId(id);
    if ("error" in ref) return { error: errorResult(ref.error) };
    const env = { ...jobEnv(ref), HERD_OFF: String(offset), HERD_MAX: String(max) };
    const r = await this.router.call(ref.host, "shell", { command: INSPECT_SCRIPT, env, timeout: 30 }, opts);
    const out = stdoutOf(r);
    const m = /^(exited (-?\d+)|running|gone) (alive|gone)\n(?:nolog\n|(\d+) (\d+) (\d+)\n([A-Za-z0-9+/=\n]*))$/.exec(out);
    if (!m) return { error: errorResult(`job ${id}: cannot inspect it on '${ref.host}': ${resultText(r).slice(0, 500)}`) };
    const rec: JobRecord | undefined = await this.store.get(id);
    const exited = m[2] !== undefined;
    const kind: JobState["state"] = exited ? "exited" : m[1] === "running" ? "running" : rec?.killed_at ? "killed" : "gone";
    const state: JobState = {
      job: id,
      host: ref.host,
      pid: ref.pid,
      pgid: ref.pgid,
      log: ref.log,
      rc_file: rcFile(ref),
      state: kind,
      exit_code: exited ? Number(m[2]) : null,
      group_alive: m[3] === "alive",
      log_size: m[4] !== undefined ? Number(m[4]) : null,
      ...(rec ? { command: rec.command, started_at: rec.started_at } : {}),
    };
    if (rec && exited && rec.exit_code === undefined) await this.store.update(id, { exit_code: state.exit_code!, ended_at: new Date().toISOString() });
    return { state, offset: m[5] !== undefined ? Number(m[5]) : 0, bytes: Buffer.from((m[7] ?? "").replace(/\n/g, ""), "base64") };
  }
}

function isAttempt(x: ToolResult | Attempt): x is Attempt {
  return typeof (x as Attempt).down === "boolean" && typeof (x as Attempt).result === "object";
}

function jobEnv(ref: JobRef): Record<string, string> {
  return { HERD_PID: String(ref.pid), HERD_PGID: String(ref.pgid), HERD_LOG: ref.log, HERD_RC: rcFile(ref) };
}

function stdoutOf(r: ToolResult): string {
  const s = (r.structuredContent as { stdout?: unknown } | undefined)?.stdout;
  return typeof s === "string" ? s : "";
}

/** The longest prefix that does not end inside a UTF-8 character (the rest is read next time). */
export function completeUtf8(buf: Buffer): Buffer {
  for (let back = 1; back <= Math.min(4, buf.length); back++) {
    const b = buf[buf.length - back]!;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? buf.subarray(0, buf.length - back) : buf;
  }
  return buf;
}

/** Byte index just after the n-th newline (or the end). */
export function firstLinesEnd(buf: Buffer, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = buf.indexOf(10, at + 1);
    if (at < 0) return buf.length;
  }
  return at + 1;
}

/** Byte index where the last n lines start (a final line without newline counts). */
export function lastLinesStart(buf: Buffer, n: number): number {
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 10) end--;
  for (let i = 0; i < n; i++) {
    if (end <= 0) return 0;
    const nl = buf.lastIndexOf(10, end - 1);
    if (nl < 0) return 0;
    end = nl;
  }
  return end + 1;
}
