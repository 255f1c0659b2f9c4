import { HOST_NAME } from "../../config.js";

/** A background job on a host: everything needed to find it again, even without jobs.json. */
export interface JobRef {
  host: string;
  pid: number;
  pgid: number;
  /** Absolute path of its log on the host; the exit code lands in `<log>.rc`. */
  log: string;
}

const CONTROL = /[\u0000-\u001f\u007f]/;

// Why: a job id is `host:pid:pgid:/log/path`, readable and self-contained (it survives losing the state folder).
export function formatJobId(ref: JobRef): string {
  const bad = jobRefProblem(ref);
  if (bad) throw new Error(bad);
  return `${ref.host}:${ref.pid}:${ref.pgid}:${ref.log}`;
}

// Why: user-supplied ids reach host scripts only as checked numbers and a checked absolute path.
export function parseJobId(id: string): JobRef | { error: string } {
  const m = /^([^:]+):(\d{1,10}):(\d{1,10}):(\/[\s\S]*)$/.exec(id);
  const usage = `job id ${JSON.stringify(id.slice(0, 200))} is not of the form host:pid:pgid:/path/to/log (as remote_shell_bg returns it)`;
  if (!m) return { error: usage };
  const ref = { host: m[1]!, pid: Number(m[2]), pgid: Number(m[3]), log: m[4]! };
  const bad = jobRefProblem(ref);
  return bad ? { error: `${usage}: ${bad}` } : ref;
}

/** Why a job reference is unusable, or undefined when it is fine. */
export function jobRefProblem(ref: JobRef): string | undefined {
  if (!HOST_NAME.test(ref.host)) return `bad host name '${ref.host}'`;
  for (const [k, v] of [["pid", ref.pid], ["pgid", ref.pgid]] as const) {
    if (!Number.isSafeInteger(v) || v < 2 || v > 4_194_304) return `bad ${k} ${v}`;
  }
  if (!ref.log.startsWith("/") || ref.log.length > 4096) return `log '${ref.log.slice(0, 200)}' is not an absolute path`;
  if (CONTROL.test(ref.log)) return "the log path contains control characters";
  if (ref.log.split("/").includes("..")) return "the log path contains '..'";
  return undefined;
}

/** The file the job's exit code is written to when it ends (both host backends use `<log>.rc`). */
export function rcFile(ref: JobRef): string {
  return `${ref.log}.rc`;
}
