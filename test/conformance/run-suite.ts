import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../helpers/herd.js";

const PRELOAD = join(ROOT, "test", "conformance", "preload.mjs");

/** One scenario's verdict as the suite's summary printed it. */
export interface Verdict {
  passed: number;
  failed: number;
}

export interface SuiteRun {
  code: number | null;
  /** Every scenario the summary names, scored or not. */
  scenarios: Map<string, Verdict>;
  /** Scenarios the summary lists as "Not scored" for the revision (pending, extension). */
  unscored: Set<string>;
  total: Verdict;
  summary: string;
  out: string;
}

/** The ids of a run's scenarios that passed (every check). */
export const passedIn = (r: SuiteRun): string[] => [...r.scenarios].filter(([, v]) => v.failed === 0).map(([k]) => k);

/** Runs a conformance suite's `server` command (Node 20 with the fs.globSync shim) against `url`, bounded by `killAfterMs`. */
export function runSuite(suite: string, url: string, cwd: string, extra: string[], killAfterMs: number): Promise<SuiteRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", PRELOAD, suite, "server", "--url", url, ...extra], {
      cwd,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), killAfterMs);
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("exit", (code) => {
      clearTimeout(timer);
      const at = out.lastIndexOf("=== SUMMARY ===");
      // eslint-disable-next-line no-control-regex -- colour codes, should a terminal setting bring them back
      const summary = at < 0 ? "" : out.slice(at).replace(/\x1b\[[0-9;]*m/g, "");
      const scenarios = new Map<string, Verdict>();
      for (const m of summary.matchAll(/^[✓✗] (\S+): (\d+) passed, (\d+) failed/gmu)) scenarios.set(m[1]!, { passed: Number(m[2]), failed: Number(m[3]) });
      const unscored = new Set<string>();
      const tail = summary.indexOf("Not scored");
      if (tail >= 0) for (const m of summary.slice(tail).matchAll(/^\s+[✓✗] (\S+) \(/gmu)) unscored.add(m[1]!);
      const t = /Total: (\d+) passed, (\d+) failed/.exec(summary);
      resolve({ code, scenarios, unscored, total: { passed: Number(t?.[1] ?? 0), failed: Number(t?.[2] ?? 0) }, summary, out });
    });
  });
}
