import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/sshd.js";
import { ROOT, startHerd, type Herd } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const SUITE = join(ROOT, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
const PRELOAD = join(ROOT, "test", "conformance", "preload.mjs");
const FIXTURE = join(ROOT, "test", "fixtures", "conformance-everything-server.ts");
const TSX = join(ROOT, "node_modules", ".bin", "tsx");


/** Runs every server scenario of the suite against `url`; returns each scenario's verdict and the summary. */
async function runSuite(url: string, cwd: string): Promise<{ passed: Set<string>; failed: Set<string>; summary: string }> {
  const out = await new Promise<string>((resolve) => {
    const p = spawn(process.execPath, ["--import", PRELOAD, SUITE, "server", "--url", url], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    p.stdout.on("data", (d: Buffer) => (text += d.toString()));
    p.stderr.on("data", (d: Buffer) => (text += d.toString()));
    p.on("exit", () => resolve(text));
  });
  const summary = out.slice(out.lastIndexOf("=== SUMMARY ==="));
  const passed = new Set<string>();
  const failed = new Set<string>();
  for (const m of summary.matchAll(/^[✓✗] (\S+): (\d+) passed, (\d+) failed/gmu)) (m[3] === "0" ? passed : failed).add(m[1]!);
  return { passed, failed, summary };
}

describe("the conformance suite's everything-server, served as itself at /services/<name>/mcp", () => {
  let fixture: ChildProcess;
  let fixtureUrl: string;
  let herd: Herd;
  let cwd: string;
  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "herd-pt-conformance-"));
    const port = await freePort();
    fixture = spawn(TSX, [FIXTURE], { cwd, env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
    fixtureUrl = (await waitListening(fixture, "conformance everything-server", { stream: "stdout", re: /MCP endpoint: (http:\/\/\S+\/mcp)/, timeoutMs: 60_000 })).url;
    // The suite sends no Authorization header: mcp-herd runs without a token (loopback only).
    herd = await startHerd({ http: true });
    const r = await herd.client.callTool({ name: "service_load", arguments: { name: "conf", url: fixtureUrl } });
    expect((r.structuredContent as { status?: string }).status, JSON.stringify(r.content)).toBe("running");
  }, 120_000);
  afterAll(async () => {
    await herd?.close();
    if (fixture) await stopProc(fixture);
    rmSync(cwd, { recursive: true, force: true });
  });

  it("every scenario that passes against the fixture directly passes through mcp-herd, with no expected failures", async () => {
    const direct = await runSuite(fixtureUrl, cwd);
    expect(direct.passed.size, `failed directly: ${[...direct.failed].join(", ")}`).toBeGreaterThanOrEqual(30);
    const through = await runSuite(`${herd.base}/services/conf/mcp`, cwd);
    const lost = [...direct.passed].filter((s) => !through.passed.has(s));
    expect(lost, through.summary).toEqual([]);
    expect([...through.failed], through.summary).toEqual([]);
    expect(through.summary).toMatch(/Total: \d+ passed, 0 failed/);
  }, 480_000);

  it("service_list shows the service's endpoint", async () => {
    const r = await herd.client.callTool({ name: "service_list", arguments: { name: "conf" } });
    const svc = (r.structuredContent as { services: { endpoint?: string | null }[] }).services[0]!;
    expect(svc.endpoint).toBe(`${herd.base}/services/conf/mcp`);
  });
});
