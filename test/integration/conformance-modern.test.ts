import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/sshd.js";
import { ROOT, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";
import { passedIn, runSuite } from "../conformance/run-suite.js";

// @modelcontextprotocol/conformance 0.2.0-alpha.12, installed as conformance-next: the first release
// with a 2026-07-28 requirement set (`--requirements 2026-07-28` runs exactly what that revision requires).
const SUITE = join(ROOT, "node_modules", "@modelcontextprotocol", "conformance-next", "dist", "index.js");
const REQUIREMENTS = ["--requirements", "2026-07-28", "--timeout", "10000"];
const HERD_BASELINE = join(ROOT, "test", "conformance", "expected-failures-2026-07-28.yml");
const THROUGH_BASELINE = join(ROOT, "test", "conformance", "expected-failures-2026-07-28-passthrough.yml");
const LOOPBACK = join(ROOT, "test", "conformance", "loopback.mjs");
// The suite's own reference server for this revision, kept as a fixture (origin in its header). It is run
// with tsx beside a link to our node_modules (its imports: the 1.x SDK, express, cors, zod) and loopback.mjs,
// since it listens on every interface. CONFORMANCE_EVERYTHING_SERVER may point at another copy.
const EVERYTHING = process.env.CONFORMANCE_EVERYTHING_SERVER ?? join(ROOT, "test", "fixtures", "conformance-everything-server-2026.ts");

/** The scenario ids an expected-failures file lists under `server:`. */
function listed(file: string): string[] {
  return [...readFileSync(file, "utf8").matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]!);
}


describe("conformance suite 0.2.0-alpha.12, 2026-07-28 requirements, against mcp-herd's own /mcp", () => {
  let herd: Herd;
  let cwd: string;
  beforeAll(async () => {
    // The suite sends no Authorization header: run without a token (loopback only).
    herd = await startHerd({ http: true, noClient: true });
    cwd = mkdtempSync(join(tmpdir(), "herd-conformance-modern-"));
  });
  afterAll(async () => {
    await herd?.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  it("passes every required scenario that does not need the suite's fixture tools, resources and prompts", async () => {
    const run = await runSuite(SUITE, herd.url!, cwd, [...REQUIREMENTS, "--expected-failures", HERD_BASELINE], 120_000);
    // http-header-validation is pending (not scored for 2026-07-28) but checks our endpoint's header handling.
    for (const s of ["tools-list", "resources-list", "prompts-list", "caching", "dns-rebinding-protection", "sep-2164-resource-not-found", "input-required-result-validate-input", "http-header-validation"]) {
      expect(run.scenarios.get(s), `${s}\n${run.summary || run.out.slice(-4000)}`).toMatchObject({ failed: 0 });
      expect(run.scenarios.get(s)!.passed).toBeGreaterThan(0);
    }
    // The suite judges the rest: a scored failure not listed, or a listed scenario that passes, is a non-zero exit
    // (it does not score the pending and extension scenarios for 2026-07-28).
    console.log(`2026-07-28 requirements against /mcp: ${passedIn(run).length}/${run.scenarios.size} scenarios, ${run.total.passed} passed, ${run.total.failed} failed`);
    expect(run.out, run.summary).not.toMatch(/Unexpected failures|Stale/i);
    expect(run.code, run.summary).toBe(0);
  }, 150_000);
});

describe("conformance suite 0.2.0-alpha.12, 2026-07-28 requirements, the suite's everything-server directly and through /services/<name>/mcp", () => {
  let fixture: ChildProcess;
  let fixtureUrl: string;
  let herd: Herd;
  let cwd: string;
  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "herd-conformance-modern-pt-"));
    // A copy beside a link to our node_modules, so its imports (the 1.x SDK, express, cors, zod) resolve.
    expect(existsSync(EVERYTHING), `CONFORMANCE_EVERYTHING_SERVER=${EVERYTHING}`).toBe(true);
    copyFileSync(EVERYTHING, join(cwd, "everything-server.ts"));
    symlinkSync(join(ROOT, "node_modules"), join(cwd, "node_modules"), "dir");
    const port = await freePort();
    fixture = spawn(process.execPath, ["--import", LOOPBACK, "--import", "tsx", join(cwd, "everything-server.ts")], {
      cwd,
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    await waitListening(fixture, "conformance everything-server", { stream: "stdout", re: /MCP endpoint: (http:\/\/\S+\/mcp)/, timeoutMs: 60_000 });
    fixtureUrl = `http://127.0.0.1:${port}/mcp`;
    // Spoken to in 2026-07-28 (a config entry's "protocol"), so its 2026-07-28-only fixtures are reachable.
    const config = join(cwd, "herd.json");
    writeFileSync(config, JSON.stringify({ services: { conf: { url: fixtureUrl, protocol: "2026-07-28" } } }));
    herd = await startHerd({ http: true, args: ["--config", config] });
    const running = async () => {
      const r = await herd.client.callTool({ name: "service_list", arguments: { name: "conf" } });
      return (r.structuredContent as { services: Array<{ status?: string; state?: string }> }).services[0]?.status === "running";
    };
    expect(await waitFor(running, 60_000, 250)).toBe(true);
  }, 120_000);
  afterAll(async () => {
    await herd?.close();
    if (fixture) await stopProc(fixture);
    rmSync(cwd, { recursive: true, force: true });
  });

  it("every scenario that passes against the everything-server directly passes through mcp-herd, but those listed with their reason", async () => {
    const direct = await runSuite(SUITE, fixtureUrl, cwd, REQUIREMENTS, 120_000);
    const through = await runSuite(SUITE, `${herd.base}/services/conf/mcp`, cwd, REQUIREMENTS, 120_000);
    const figures = (r: typeof direct) => {
      const scored = [...r.scenarios].filter(([k]) => !r.unscored.has(k));
      const checks = scored.reduce((n, [, v]) => n + v.passed, 0);
      return `${scored.filter(([, v]) => v.failed === 0).length}/${scored.length} scored scenarios (${checks} checks passed); all run: ${r.total.passed} passed, ${r.total.failed} failed`;
    };
    console.log(`2026-07-28 requirements: directly ${figures(direct)}; through mcp-herd ${figures(through)}`);
    expect(passedIn(direct).length, direct.summary || direct.out.slice(-4000)).toBeGreaterThanOrEqual(30);
    const allowed = listed(THROUGH_BASELINE);
    const lost = passedIn(direct).filter((s) => !passedIn(through).includes(s) && !allowed.includes(s));
    expect(lost, through.summary || through.out.slice(-4000)).toEqual([]);
    // A listed scenario that passes through mcp-herd (or no longer passes directly) is a stale entry.
    expect(allowed.filter((s) => passedIn(through).includes(s) || !passedIn(direct).includes(s)), through.summary).toEqual([]);
    // What mcp-herd's own side decides: the endpoint's checks, and tool results carried whole.
    // (The tools-call-* scenarios fail directly and through alike: in 2026-07-28 the service's own results, which
    // lack resultType, are handed on as they came.)
    for (const s of ["tools-list", "resources-read-text", "prompts-get-with-args", "completion-complete", "caching", "dns-rebinding-protection", "sep-2164-resource-not-found", "json-schema-2020-12", "input-required-result-basic-sampling", "input-required-result-request-state", "input-required-result-tampered-state"]) {
      expect(through.scenarios.get(s), `${s}\n${through.summary}`).toMatchObject({ failed: 0 });
    }
  }, 260_000);
});
