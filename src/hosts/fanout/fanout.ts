/** One host's outcome in a fan-out call. */
export interface HostOutcome {
  host: string;
  ok: boolean;
  /** ok: ran and succeeded; failed: ran (or was refused) with an error; down: no path reached the host. */
  status: "ok" | "failed" | "down";
  via?: string;
  exit_code?: number | null;
  stdout?: string;
  stderr?: string;
  /** read_file's text. */
  content?: string;
  error?: string;
  duration_ms: number;
  timed_out?: boolean;
  /** Job id when on_timeout "background" left the command running. */
  job?: string;
}

/** Counts of a fan-out call, and its worst exit status. */
export interface FanoutSummary {
  summary: string;
  host_count: number;
  ok_count: number;
  failed_count: number;
  down_count: number;
  worst_exit_code: number | null;
}

/** Default bound on hosts served at once. */
export const DEFAULT_PARALLEL = 16;

// Why: runs one call per host with at most `parallel` in flight; a throw becomes that host's failure, never the call's.
export async function fanOut(names: string[], parallel: number, run: (host: string) => Promise<HostOutcome>): Promise<HostOutcome[]> {
  const results: HostOutcome[] = new Array(names.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= names.length) return;
      const host = names[i]!;
      const started = Date.now();
      try {
        results[i] = await run(host);
      } catch (e) {
        results[i] = { host, ok: false, status: "failed", error: (e as Error).message ?? String(e), duration_ms: Date.now() - started };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, names.length)) }, worker));
  return results;
}

// Why: the first line an operator reads: `12 ok, 1 failed, 2 down`, and the worst exit status.
export function summarize(results: HostOutcome[]): FanoutSummary {
  const count = (s: HostOutcome["status"]) => results.filter((r) => r.status === s).length;
  const codes = results.map((r) => r.exit_code).filter((c): c is number => typeof c === "number");
  const worst = codes.length ? Math.max(...codes) : null;
  const [ok, failed, down] = [count("ok"), count("failed"), count("down")];
  return {
    summary: `${ok} ok, ${failed} failed, ${down} down`,
    host_count: results.length,
    ok_count: ok,
    failed_count: failed,
    down_count: down,
    worst_exit_code: worst,
  };
}

const RULE = "-".repeat(16);

/** The head of one host's section: its state and exit code. */
function head(r: HostOutcome): string {
  if (r.status === "down") return "DOWN";
  if (r.exit_code !== undefined) return `[rc=${r.exit_code ?? "none"}]${r.status === "failed" ? " failed" : ""}`;
  return r.status === "ok" ? "ok" : "failed";
}

/** The body of one host's section: output (stdout, then stderr) or the error. */
function body(r: HostOutcome): string {
  if (r.content !== undefined) return r.content;
  if (r.stdout !== undefined || r.stderr !== undefined) {
    let t = r.stdout ?? "";
    if (r.stderr) t += `${t === "" || t.endsWith("\n") ? "" : "\n"}[stderr]\n${r.stderr}`;
    if (r.status !== "ok" && r.error && !r.stdout && !r.stderr) t = r.error;
    return t;
  }
  return r.error ?? "";
}

// Why: the text of a fan-out call: summary, worst status, then identical sections shown once with their hosts (dshbak -c).
export function foldedText(results: HostOutcome[], sum: FanoutSummary = summarize(results)): string {
  const groups = new Map<string, { hosts: string[]; head: string; body: string }>();
  for (const r of results) {
    const h = head(r);
    const b = body(r);
    const key = `${h}\u0000${b}`;
    const g = groups.get(key);
    if (g) g.hosts.push(r.host);
    else groups.set(key, { hosts: [r.host], head: h, body: b });
  }
  const lines = [
    `${sum.summary} (${sum.host_count} host${sum.host_count === 1 ? "" : "s"})`,
    `worst exit status: ${sum.worst_exit_code ?? "none"}`,
  ];
  for (const g of groups.values()) {
    lines.push(RULE, `${g.hosts.join(",")} ${g.head}`, RULE);
    if (g.body !== "") lines.push(g.body.endsWith("\n") ? g.body.slice(0, -1) : g.body);
  }
  return `${lines.join("\n")}\n`;
}
