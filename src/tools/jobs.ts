import { z } from "zod";
import { errorResult, textResult, type CallOptions, type Progress } from "../backends/backend.js";
import type { HostHub } from "../hosts/hub.js";
import { DEFAULT_OUTPUT_BYTES, JOB_SIGNALS, MAX_OUTPUT_BYTES, type JobState } from "../hosts/jobs/jobs.js";
import { defineTool, type AnyToolDef, type ToolContext } from "./define.js";

const jobArg = z
  .string()
  .min(1)
  .describe("Job id as remote_shell_bg (or remote_shell with on_timeout 'background') returned it: host:pid:pgid:/path/to/log.");

const stateShape = {
  job: z.string(),
  host: z.string(),
  pid: z.number().int(),
  pgid: z.number().int(),
  log: z.string(),
  rc_file: z.string(),
  state: z.enum(["running", "exited", "killed", "gone"]),
  exit_code: z.number().int().nullable(),
  group_alive: z.boolean(),
  log_size: z.number().int().nullable(),
  command: z.string().optional(),
  started_at: z.string().optional(),
};

/** One line on a job: where it is and how it stands. */
function stateLine(s: JobState): string {
  const how = s.state === "exited" ? `exited with code ${s.exit_code}` : s.state === "gone" ? "gone (ended without an exit code: signalled, or the host restarted)" : s.state;
  const extra = s.state !== "running" && s.group_alive ? "; some of its processes are still running" : "";
  return `job ${s.job}: ${how}${extra}; log ${s.log} (${s.log_size ?? "missing"} bytes)${s.command ? `\ncommand: ${s.command.slice(0, 200)}` : ""}`;
}

function callOpts(ctx: ToolContext): CallOptions {
  return { signal: ctx.signal, ...(ctx.wantsProgress ? { onProgress: (p: Progress) => ctx.progress(p) } : {}) };
}

/** remote_job_status, remote_job_output, remote_job_kill and remote_job_list. */
export function jobTools(hub: HostHub): AnyToolDef[] {
  const status = defineTool({
    name: "remote_job_status",
    title: "Background job status",
    description:
      "Says whether a background job is running or exited (with its exit code), whether any of its processes remain, and its log size. " +
      "Works over the host's peer and SSH alike, also after mcp-herd restarted.",
    input: { job: jobArg },
    output: stateShape,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    async handler({ job }, ctx) {
      const s = await hub.jobs.status(job, callOpts(ctx));
      if ("error" in s) return s.error;
      return textResult(stateLine(s), { ...s });
    },
  });
  const output = defineTool({
    name: "remote_job_output",
    title: "Read a background job's output",
    description:
      "Reads a background job's log (stdout+stderr) from a byte offset and returns next_offset: call again with it to follow the job. " +
      `Without offset, lines: N gives the last N lines. At most max_bytes (default ${DEFAULT_OUTPUT_BYTES}) per call.`,
    input: {
      job: jobArg,
      offset: z.number().int().min(0).optional().describe("Byte offset in the log to read from (default 0; use the last next_offset to follow)."),
      lines: z.number().int().min(1).max(100_000).optional().describe("At most this many lines; without offset, the last this many lines of the log."),
      max_bytes: z.number().int().min(1).max(MAX_OUTPUT_BYTES).optional().describe(`Most bytes to return (default ${DEFAULT_OUTPUT_BYTES}, max ${MAX_OUTPUT_BYTES}).`),
    },
    output: { ...stateShape, offset: z.number().int(), next_offset: z.number().int(), output: z.string(), eof: z.boolean() },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    async handler({ job, offset, lines, max_bytes }, ctx) {
      const o = await hub.jobs.output(job, { offset, lines, maxBytes: max_bytes }, callOpts(ctx));
      if ("error" in o) return o.error;
      const head = `[bytes ${o.offset}-${o.next_offset} of ${o.log_size ?? "?"}; ${o.state}${o.exit_code !== null ? ` rc=${o.exit_code}` : ""}; next_offset ${o.next_offset}]`;
      return textResult(`${head}\n${o.output}`, { ...o });
    },
  });
  const kill = defineTool({
    name: "remote_job_kill",
    title: "Stop a background job",
    description:
      "Signals a background job's whole process group (TERM by default), sends KILL after grace seconds if anything is left, " +
      "and checks that no process of the group remains.",
    input: {
      job: jobArg,
      signal: z.enum(JOB_SIGNALS).optional().describe("Signal to send first: TERM (default), INT, HUP, QUIT or KILL."),
      grace: z.number().min(0.05).max(60).optional().describe("Seconds to wait before KILL (default 3)."),
    },
    output: { ...stateShape, outcome: z.string(), gone: z.boolean() },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    async handler({ job, signal, grace }, ctx) {
      const k = await hub.jobs.kill(job, signal ?? "TERM", grace ?? 3, callOpts(ctx));
      if ("error" in k) return k.error;
      const how: Record<string, string> = {
        "already-gone": "was not running",
        gone: `stopped by ${signal ?? "TERM"}`,
        "gone-after-kill": `did not stop on ${signal ?? "TERM"}; stopped by KILL`,
        alive: "could NOT be stopped: processes of its group remain",
      };
      const text = `job ${job}: ${how[k.outcome] ?? k.outcome}\n${stateLine(k.state)}`;
      const data = { ...k.state, outcome: k.outcome, gone: k.gone };
      return k.gone ? textResult(text, data) : errorResult(text, data);
    },
  });
  const list = defineTool({
    name: "remote_job_list",
    title: "List background jobs",
    description: "Lists the background jobs this mcp-herd started (kept in its state folder across restarts), newest first, as recorded; use remote_job_status for the live state.",
    input: { host: z.string().min(1).optional().describe("Only jobs on this host.") },
    output: {
      jobs: z.array(
        z.object({
          job: z.string(),
          host: z.string(),
          command: z.string(),
          started_at: z.string(),
          exit_code: z.number().int().optional(),
          killed_at: z.string().optional(),
        }),
      ),
      problems: z.array(z.string()).optional().describe("Records that could not be read (skipped, never fatal)."),
    },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async handler({ host }) {
      const recs = (await hub.jobs.store.list()).filter((r) => !host || r.host === host);
      const jobs = recs.map((r) => ({
        job: r.id,
        host: r.host,
        command: r.command,
        started_at: r.started_at,
        ...(r.exit_code !== undefined ? { exit_code: r.exit_code } : {}),
        ...(r.killed_at ? { killed_at: r.killed_at } : {}),
      }));
      const lines = jobs.map((j) => `${j.started_at} ${j.job}${j.exit_code !== undefined ? ` rc=${j.exit_code}` : j.killed_at ? " killed" : ""}  ${j.command.slice(0, 80)}`);
      const problems = hub.jobs.store.problems;
      const text = (lines.length ? lines.join("\n") : "no background jobs recorded") + problems.map((p) => `\n[problem] ${p}`).join("");
      return textResult(text, problems.length ? { jobs, problems } : { jobs });
    },
  });
  return [status, output, kill, list];
}
