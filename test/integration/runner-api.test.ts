import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { raw } from "../helpers/http.js";
import { FIXTURES } from "../fixtures/services-helpers.js";

const TOKEN = "runner-api-test-token-0123456789";

/**
 * The runner supervisor's answers, each written as its source writes it (`json(res, status, body)` in
 * shared/reference/000_12cfe1a4dd6499ab.txt, quoted above each shape). A key the runner never sends
 * fails the strict shapes; /health may carry ours beside the runner's.
 */
const tool = z.object({ name: z.string(), inputSchema: z.object({ type: z.literal("object") }).loose() }).loose();
const RUNNER = {
  // svcs.push({ name, status: svc.status, pid: svc.pid, tools: svc.tools.length, restarts: svc.restarts }); json(res, 200, { ok: true, services: svcs })
  health: z.object({
    ok: z.literal(true),
    services: z.array(z.strictObject({ name: z.string(), status: z.string(), pid: z.number().int().nullable(), tools: z.number().int(), restarts: z.number().int() })),
  }),
  // json(res, 200, { status: "running", tools: svc.tools })
  loaded: z.strictObject({ status: z.literal("running"), tools: z.array(tool) }),
  // json(res, 500, { error: e.message, logs: svc.logs.slice(-10) })
  loadFailed: z.strictObject({ error: z.string().min(1), logs: z.array(z.string()).max(10) }),
  // json(res, 400, { error: "name required" }), json(res, 404, { error: `service "${name}" not found` }), json(res, 503, { error: `service is ${svc.status}` })
  error: z.strictObject({ error: z.string().min(1) }),
  // p.resolve(msg.error ? { error: ... } : { result: msg.result }); json(res, 200, result)
  called: z.strictObject({ result: z.object({ content: z.array(z.object({ type: z.string() }).loose()), isError: z.boolean().optional() }).loose() }),
  callFailed: z.strictObject({ error: z.string().min(1) }),
  // json(res, 200, { tools: svc.tools })
  listOne: z.strictObject({ tools: z.array(tool) }),
  // for (const [n, s] of services) all[n] = s.tools; json(res, 200, all)
  listAll: z.record(z.string(), z.array(tool)),
  // json(res, 200, { lines: svc.logs.slice(-lines) })
  logs: z.strictObject({ lines: z.array(z.string()) }),
  // json(res, 200, { ok: true })
  unloaded: z.strictObject({ ok: z.literal(true) }),
};

interface Answer {
  status: number;
  body: unknown;
}

/** One request the way the broker sends it: JSON body, bearer token (the one addition mcp-herd asks of it). */
async function runner(h: Herd, method: "GET" | "POST", path: string, body?: unknown, token: string | null = TOKEN): Promise<Answer> {
  const r = await raw(`${h.base}${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(r.headers["content-type"], r.body).toBe("application/json");
  return { status: r.status, body: JSON.parse(r.body) as unknown };
}

/** Asserts the status and the runner's shape; returns the parsed body. */
function shaped<T>(a: Answer, status: number, shape: z.ZodType<T>): T {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  const parsed = shape.safeParse(a.body);
  expect(parsed.success, `${JSON.stringify(a.body).slice(0, 400)}: ${parsed.error?.message}`).toBe(true);
  return parsed.data!;
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync("git", ["-c", "user.email=t@example.invalid", "-c", "user.name=t", ...args], { cwd, encoding: "utf8", env: { ...process.env, GIT_TEMPLATE_DIR: "" } });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

function text(result: unknown): string {
  return (result as { content: Array<{ text?: string }> }).content.map((c) => c.text ?? "").join("\n");
}

describe("the runner supervisor's HTTP API, replayed the way its broker drives it", () => {
  let dir: string;
  let repo: string;
  let broken: string;
  let h: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-runner-api-"));
    // A repository whose main branch says "main" and whose branch "feature" says "feature".
    repo = join(dir, "repo");
    mkdirSync(repo);
    cpSync(join(FIXTURES, "sources", "node-server"), repo, { recursive: true });
    git(repo, "init", "-q", "-b", "main");
    writeFileSync(join(repo, "label.txt"), "main\n");
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "main");
    git(repo, "checkout", "-q", "-b", "feature");
    writeFileSync(join(repo, "label.txt"), "feature\n");
    git(repo, "commit", "-qam", "feature");
    git(repo, "checkout", "-q", "main");
    // A folder whose entry does not exist: node starts, fails, and the handshake never happens.
    broken = join(dir, "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "package.json"), JSON.stringify({ name: "broken", private: true, main: "missing.js" }));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ runnerApi: true }));
    h = await startHerd({
      http: true,
      token: TOKEN,
      noClient: true,
      args: ["--config", join(dir, "config.json")],
      // A crash waits 3 s before its restart, so the call right after it sees the runner's 503.
      env: { MCP_HERD_BACKOFF_START_MS: "3000", MCP_HERD_KILL_GRACE_MS: "1000", MCP_HERD_HANDSHAKE_MS: "10000" },
    });
  }, 30_000);
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads from a folder, a git branch and an npm package; calls, lists, reads logs, replaces, unloads; every answer in the runner's shape and status", async () => {
    expect(shaped(await runner(h, "GET", "/health"), 200, RUNNER.health).services).toEqual([]);

    // POST /load: a local folder (sourcePath), a git repository at a branch (gitUrl + gitBranch), an npm package (npxPackage).
    const folder = shaped(await runner(h, "POST", "/load", { name: "folder", sourcePath: join(FIXTURES, "fixture-node"), env: { FIXTURE_X: "1", FIXTURE_SECRET: "runner-secret-4242" } }), 200, RUNNER.loaded);
    expect(folder.tools.map((t) => t.name)).toContain("echo");
    const fromGit = shaped(await runner(h, "POST", "/load", { name: "fromgit", gitUrl: repo, gitBranch: "feature", runtime: "node" }), 200, RUNNER.loaded);
    expect(fromGit.tools.map((t) => t.name).sort()).toEqual(["echo", "whoami"]);
    const npm = shaped(await runner(h, "POST", "/load", { name: "everything", npxPackage: "@modelcontextprotocol/server-everything", runtime: "node" }), 200, RUNNER.loaded);
    expect(npm.tools.map((t) => t.name)).toContain("echo");

    // POST /call: { result } with the tool's result as it came, an isError result included.
    expect(text(shaped(await runner(h, "POST", "/call", { name: "folder", tool: "echo", args: { message: "hi" } }), 200, RUNNER.called).result)).toBe("hi");
    expect(text(shaped(await runner(h, "POST", "/call", { name: "folder", tool: "env", args: { keys: ["FIXTURE_X"] } }), 200, RUNNER.called).result)).toMatch(/FIXTURE_X.*1/);
    expect(text(shaped(await runner(h, "POST", "/call", { name: "fromgit", tool: "whoami", args: {} }), 200, RUNNER.called).result)).toMatch(/feature/);
    expect(text(shaped(await runner(h, "POST", "/call", { name: "everything", tool: "echo", args: { message: "npm" } }), 200, RUNNER.called).result)).toContain("npm");
    expect(shaped(await runner(h, "POST", "/call", { name: "folder", tool: "fail" }), 200, RUNNER.called).result.isError).toBe(true);
    shaped(await runner(h, "POST", "/call", { name: "ghost", tool: "echo", args: {} }), 404, RUNNER.error);

    // A tool that kills its server: the runner's 200 { error }; while it waits to restart, 503; then it is back with restarts 1.
    expect(shaped(await runner(h, "POST", "/call", { name: "folder", tool: "crash", args: {} }), 200, RUNNER.callFailed).error).toMatch(/exit|closed|code 3/i);
    expect(shaped(await runner(h, "POST", "/call", { name: "folder", tool: "echo", args: { message: "x" } }), 503, RUNNER.error).error).toMatch(/restarting/);
    let health = shaped(await runner(h, "GET", "/health"), 200, RUNNER.health);
    expect(health.services.find((s) => s.name === "folder")).toMatchObject({ status: "restarting", pid: null, tools: 0 });
    expect(
      await waitFor(async () => {
        const now = shaped(await runner(h, "GET", "/health"), 200, RUNNER.health).services.find((s) => s.name === "folder");
        return now?.status === "running" && now.restarts === 1;
      }, 20_000),
    ).toBe(true);

    // GET /health: every service with status, pid, tool count and restarts (mcp-herd's own fields beside them).
    const raw200 = await runner(h, "GET", "/health");
    health = shaped(raw200, 200, RUNNER.health);
    expect(health.services.map((s) => s.name)).toEqual(["everything", "folder", "fromgit"]);
    for (const s of health.services) {
      expect(s.status).toBe("running");
      expect(s.pid).toBeGreaterThan(0);
      expect(s.tools).toBeGreaterThan(0);
    }
    expect(raw200.body).toMatchObject({ version: expect.any(String), hosts: expect.any(Number), sessions: 0 });

    // GET /list and /list?name=: the services' tools as they list them.
    const all = shaped(await runner(h, "GET", "/list"), 200, RUNNER.listAll);
    expect(Object.keys(all).sort()).toEqual(["everything", "folder", "fromgit"]);
    expect(all.fromgit).toEqual(fromGit.tools);
    expect(shaped(await runner(h, "GET", "/list?name=fromgit"), 200, RUNNER.listOne).tools).toEqual(fromGit.tools);
    shaped(await runner(h, "GET", "/list?name=ghost"), 404, RUNNER.error);

    // GET /logs?name=&lines=: the last lines, as text.
    await runner(h, "POST", "/call", { name: "folder", tool: "log", args: { line: "from the broker" } });
    const lines = shaped(await runner(h, "GET", "/logs?name=folder&lines=200"), 200, RUNNER.logs).lines;
    expect(lines).toContain("[stderr] from the broker");
    expect(lines.some((l) => /^\[herd\] process exited/.test(l))).toBe(true);
    // The service's env values never reach its logs, as with service_logs.
    expect(lines).toContain("[stderr] my secret is ***");
    expect(lines.join("\n")).not.toContain("runner-secret-4242");
    expect(shaped(await runner(h, "GET", "/logs?name=folder&lines=2"), 200, RUNNER.logs).lines).toHaveLength(2);
    shaped(await runner(h, "GET", "/logs?name=ghost"), 404, RUNNER.error);

    // A broker that hangs up mid-call cancels the call in the service (the runner let it run to its 25 s timeout).
    const hangUp = request(`${h.base}/call`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` } });
    hangUp.on("error", () => undefined);
    hangUp.end(JSON.stringify({ name: "folder", tool: "slow", args: { steps: 100, ms: 100 } }));
    await new Promise((r) => setTimeout(r, 400));
    hangUp.destroy();
    const cancelled = await waitFor(async () => {
      const now = shaped(await runner(h, "GET", "/logs?name=folder&lines=20"), 200, RUNNER.logs).lines;
      return now.some((l) => /^\[stderr\] slow cancelled at step \d+$/.test(l));
    }, 8_000);
    expect(cancelled).toBe(true);

    // Loading a loaded name replaces it: a new process, the old one's tools gone.
    const before = health.services.find((s) => s.name === "fromgit")!.pid;
    const replaced = shaped(await runner(h, "POST", "/load", { name: "fromgit", sourcePath: join(FIXTURES, "fixture-node") }), 200, RUNNER.loaded);
    expect(replaced.tools.map((t) => t.name)).not.toContain("whoami");
    const after = shaped(await runner(h, "GET", "/health"), 200, RUNNER.health).services.find((s) => s.name === "fromgit")!;
    expect(after.pid).not.toBe(before);
    expect(after.restarts).toBe(0);

    // A load that fails: 500 { error, logs }, and the service stays listed as failed (as in the runner).
    const failed = shaped(await runner(h, "POST", "/load", { name: "broken", sourcePath: broken }), 500, RUNNER.loadFailed);
    expect(failed.error).toMatch(/broken/);
    expect(failed.logs.join("\n")).toMatch(/missing\.js|Cannot find module/);
    expect(shaped(await runner(h, "GET", "/health"), 200, RUNNER.health).services.find((s) => s.name === "broken")).toMatchObject({ status: "failed", pid: null, tools: 0 });
    shaped(await runner(h, "POST", "/call", { name: "broken", tool: "echo", args: {} }), 503, RUNNER.error);

    // Bad requests: 400 with the runner's messages.
    expect(shaped(await runner(h, "POST", "/load", {}), 400, RUNNER.error).error).toBe("name required");
    expect(shaped(await runner(h, "POST", "/load", { name: "nosource" }), 400, RUNNER.error).error).toMatch(/one of sourcePath, gitUrl, npxPackage or uvxPackage required/);

    // POST /unload: { ok: true }, then 404; the processes are gone from /health.
    for (const name of ["folder", "fromgit", "everything", "broken"]) shaped(await runner(h, "POST", "/unload", { name }), 200, RUNNER.unloaded);
    shaped(await runner(h, "POST", "/unload", { name: "folder" }), 404, RUNNER.error);
    expect(shaped(await runner(h, "GET", "/health"), 200, RUNNER.health).services).toEqual([]);
    expect(shaped(await runner(h, "GET", "/list"), 200, RUNNER.listAll)).toEqual({});
  }, 240_000);

  it("a probe without the token still gets today's /health (counts only), the broker with it the runner's list", async () => {
    const probe = await runner(h, "GET", "/health", undefined, null);
    expect(probe.status).toBe(200);
    expect(probe.body).toEqual({ ok: true, version: expect.any(String), services: 0, hosts: expect.any(Number), sessions: 0 });
    expect(shaped(await runner(h, "GET", "/health"), 200, RUNNER.health).services).toEqual([]);
  });

  it("answers a wrong method with 405, a body that is not JSON or too big with 400 or 413, all as { error }", async () => {
    const wrong = await runner(h, "GET", "/load");
    expect(wrong.status).toBe(405);
    shaped(wrong, 405, RUNNER.error);
    const bad = await raw(`${h.base}/call`, { headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: "{name:" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ error: expect.stringMatching(/^Parse error/) });
    const big = await raw(`${h.base}/load`, { headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: Buffer.alloc(5 * 1024 * 1024, 0x20) });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toEqual({ error: expect.stringMatching(/Payload too large/) });
  });
});

describe("runnerApi off (the default)", () => {
  it("serves none of the runner's paths and keeps today's /health", async () => {
    const h = await startHerd({ http: true, token: TOKEN, noClient: true });
    try {
      for (const [method, path] of [["POST", "/load"], ["POST", "/call"], ["POST", "/unload"], ["GET", "/list"], ["GET", "/logs?name=x"]] as const) {
        const r = await raw(`${h.base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` }, body: method === "POST" ? "{}" : undefined });
        expect(r.status, path).toBe(404);
      }
      const health = await raw(`${h.base}/health`, { method: "GET", headers: { authorization: `Bearer ${TOKEN}` } });
      expect(JSON.parse(health.body)).toEqual({ ok: true, version: expect.any(String), services: 0, hosts: expect.any(Number), sessions: 0 });
    } finally {
      await h.close();
    }
  });
});

describe("uvxPackage", () => {
  it("loads a Python package the way service_load's python source does (a venv and pip, offline from hand-made wheels here) and calls it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "herd-runner-py-"));
    const wheels = join(dir, "wheels");
    mkdirSync(wheels);
    const made = spawnSync("python3", [join(FIXTURES, "sources", "make_wheel.py"), wheels, "mcp-herd-fixture-py", "0.1.0", JSON.stringify({ "mcp-herd-fixture-py": "mcp_herd_fixture_py.server:main" })], { encoding: "utf8" });
    expect(made.status, made.stderr).toBe(0);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ runnerApi: true }));
    // No folder holding uvx on PATH: pip finds our wheels and nothing else.
    const path = (process.env.PATH ?? "").split(":").filter((d) => d && !existsSync(join(d, "uvx"))).join(":");
    const h = await startHerd({
      http: true,
      token: TOKEN,
      noClient: true,
      args: ["--config", join(dir, "config.json")],
      env: { PATH: path, PIP_FIND_LINKS: wheels, PIP_NO_INDEX: "1", PIP_CONSTRAINT: "", PIP_EXTRA_INDEX_URL: "" },
    });
    try {
      const loaded = shaped(await runner(h, "POST", "/load", { name: "py", uvxPackage: "mcp-herd-fixture-py==0.1.0", runtime: "python", env: { FIXTURE_LABEL: "wheel" } }), 200, RUNNER.loaded);
      expect(loaded.tools.map((t) => t.name)).toContain("whoami");
      const who = JSON.parse(text(shaped(await runner(h, "POST", "/call", { name: "py", tool: "whoami", args: {} }), 200, RUNNER.called).result)) as { label: string };
      expect(who.label).toBe("wheel");
      shaped(await runner(h, "POST", "/unload", { name: "py" }), 200, RUNNER.unloaded);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
