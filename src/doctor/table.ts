/** One line of `mcp-herd doctor`: what was checked, how it went, and what to do about it. */
export interface Check {
  check: string;
  status: "OK" | "WARN" | "FAIL";
  detail: string;
  /** What to do; empty when nothing needs doing. */
  fix?: string;
}

/** The checks as an aligned plain-text table, then a one-line summary. */
export function renderTable(checks: Check[]): string {
  const head = { check: "CHECK", status: "STATUS", detail: "DETAIL", fix: "WHAT TO DO" };
  const rows = [head, ...checks.map((c) => ({ check: c.check, status: c.status, detail: oneLine(c.detail), fix: oneLine(c.fix ?? "") }))];
  const w = (k: "check" | "status" | "detail") => Math.max(...rows.map((r) => r[k].length));
  const [wc, ws, wd] = [w("check"), w("status"), Math.min(w("detail"), 100)];
  const lines = rows.map((r) => `${r.check.padEnd(wc)}  ${r.status.padEnd(ws)}  ${r.detail.padEnd(wd)}  ${r.fix}`.trimEnd());
  const count = (s: Check["status"]) => checks.filter((c) => c.status === s).length;
  lines.push("", `${checks.length} checks: ${count("OK")} OK, ${count("WARN")} WARN, ${count("FAIL")} FAIL`);
  return lines.join("\n") + "\n";
}

/** Exit status of doctor: 1 when any check failed. */
export function doctorExitCode(checks: Check[]): number {
  return checks.some((c) => c.status === "FAIL") ? 1 : 0;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}
