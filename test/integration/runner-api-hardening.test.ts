import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { raw } from "../helpers/http.js";
import { FIXTURES } from "../fixtures/services-helpers.js";

const TOKEN = "runner-api-hardening-token-0123456789";

// The programs a load can run: each is wrapped by a PATH-first script that records the run, then runs the real one.
const WRAPPED = ["git", "npm", "npx", "uv", "uvx", "python3", "python", "pip", "pip3", "bun", "sh", "bash", "rm"];

describe("the runner API behind the token and the guards; hostile input refused before anything runs", () => {
  let dir: string;
  let runs: string;
  let repo: string;
  let h: Herd;
  const sentinel = () => join(dir, "PWNED");

  const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    raw(`${h.base}${path}`, { headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const get = (path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) => raw(`${h.base}${path}`, { method: "GET", headers });
  const recorded = () => (existsSync(runs) ? readFileSync(runs, "utf8").split("\n").filter(Boolean) : []);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-runner-hard-"));
    runs = join(dir, "runs.log");
    const bin = join(dir, "bin");
    mkdirSync(bin);
    for (const name of WRAPPED) {
      const real = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
      if (!real.startsWith("/")) continue;
      writeFileSync(join(bin, name), `#!/bin/sh\nprintf '%s' '${name}' >> '${runs}'\nfor a in "$@"; do printf ' %s' "$a" >> '${runs}'; done\nprintf '\\n' >> '${runs}'\nexec '${real}' "$@"\n`);
      chmodSync(join(bin, name), 0o755);
    }
    expect(existsSync(join(bin, "git"))).toBe(true);
    repo = join(dir, "repo");
    mkdirSync(repo);
    cpSync(join(FIXTURES, "sources", "node-server"), repo, { recursive: true });
    const g = (...args: string[]) => {
      const r = spawnSync("git", ["-c", "user.email=t@example.invalid", "-c", "user.name=t", ...args], { cwd: repo, encoding: "utf8", env: { ...process.env, GIT_TEMPLATE_DIR: "" } });
      expect(r.status, r.stderr).toBe(0);
    };
    g("init", "-q", "-b", "main");
    g("add", "-A");
    g("commit", "-qm", "first");
    writeFileSync(join(dir, "config.json"), JSON.stringify({ runnerApi: true, auditLog: join(dir, "audit.jsonl") }));
    h = await startHerd({ http: true, token: TOKEN, noClient: true, args: ["--config", join(dir, "config.json")], env: { PATH: `${bin}${delimiter}${process.env.PATH ?? ""}` } });
  }, 30_000);
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers 401 { error } without the token or with a wrong one on every runner path, and 403 to a foreign Host or Origin", async () => {
    const none = {};
    const wrong = { authorization: "Bearer not-the-token-0123456789" };
    for (const headers of [none, wrong]) {
      for (const r of [
        await post("/load", { name: "x", sourcePath: join(FIXTURES, "fixture-node") }, headers),
        await post("/call", { name: "x", tool: "echo", args: {} }, headers),
        await post("/unload", { name: "x" }, headers),
        await get("/list", headers),
        await get("/logs?name=x", headers),
      ]) {
        expect(r.status).toBe(401);
        expect(r.headers["www-authenticate"]).toMatch(/^Bearer/);
        expect(JSON.parse(r.body)).toEqual({ error: expect.stringMatching(/Unauthorized/) });
      }
    }
    const host = await get("/list", { authorization: `Bearer ${TOKEN}`, host: "evil.example" });
    expect(host.status).toBe(403);
    const origin = await post("/load", { name: "x", sourcePath: join(FIXTURES, "fixture-node") }, { authorization: `Bearer ${TOKEN}`, origin: "http://evil.example" });
    expect(origin.status).toBe(403);
    expect(recorded()).toEqual([]);
    expect(readdirSync(join(h.stateDir))).not.toContain("services");
  });

  it("refuses the runner's injection cases in name, gitUrl, gitBranch, npxPackage, uvxPackage, sourcePath and env with 400 and a clear error; nothing runs", async () => {
    const touch = `touch ${sentinel()}`;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      // name: the runner ran `rm -rf /var/claudemesh/services/${name}/*` and cloned into that folder.
      [{ name: `x; ${touch}`, gitUrl: repo }, /service name .* is not allowed/],
      [{ name: `$(${touch})`, gitUrl: repo }, /service name .* is not allowed/],
      [{ name: `\`${touch}\``, sourcePath: join(FIXTURES, "fixture-node") }, /service name .* is not allowed/],
      [{ name: "../../etc", gitUrl: repo }, /service name .* is not allowed/],
      [{ name: "../x", npxPackage: "left-pad" }, /service name .* is not allowed/],
      [{ name: "-rf", gitUrl: repo }, /service name .* is not allowed/],
      // gitUrl: the runner ran `git clone --depth 1 ${gitUrl} .` through a shell.
      [{ name: "g1", gitUrl: `--upload-pack=${touch}` }, /git URL .* refused: it starts with '-'/],
      [{ name: "g2", gitUrl: `${repo}; ${touch}` }, /git URL .* refused: it contains shell metacharacters/],
      [{ name: "g3", gitUrl: `$(${touch})` }, /git URL .* refused/],
      [{ name: "g4", gitUrl: `ext::sh -c ${touch}` }, /git URL .* refused/],
      [{ name: "g5", gitUrl: `https://example.invalid/r.git\n${touch}` }, /git URL .* refused: it contains control characters/],
      // gitBranch: `--branch ${gitBranch}` in the same shell string.
      [{ name: "b1", gitUrl: repo, gitBranch: `--upload-pack=${touch}` }, /git ref .* refused: it starts with '-'/],
      [{ name: "b2", gitUrl: repo, gitBranch: `main; ${touch}` }, /git ref .* refused/],
      [{ name: "b3", gitUrl: repo, gitBranch: `$(${touch})` }, /git ref .* refused/],
      [{ name: "b4", gitUrl: repo, gitBranch: "../../x" }, /git ref .* refused: it contains '\.\.'/],
      // npxPackage went into a package.json and `npm install`; uvxPackage into `uv pip install "${pkg}"`.
      [{ name: "n1", npxPackage: `x; ${touch}` }, /npm spec .* refused/],
      [{ name: "n2", npxPackage: "file:../../etc" }, /npm spec .* refused/],
      [{ name: "n3", npxPackage: "--global" }, /npm spec .* refused/],
      [{ name: "p1", uvxPackage: `x" "; ${touch}` }, /python spec .* refused/],
      [{ name: "p2", uvxPackage: "--index-url=http://evil.example/simple" }, /python spec .* refused/],
      // sourcePath must be an absolute folder; env names must be names.
      [{ name: "s1", sourcePath: "../../etc" }, /path .* must be an absolute path/],
      [{ name: "e1", sourcePath: join(FIXTURES, "fixture-node"), env: { [`A;${touch}`]: "1" } }, /env name .* is not allowed/],
      // Several sources at once are refused rather than one picked.
      [{ name: "m1", sourcePath: join(FIXTURES, "fixture-node"), gitUrl: repo }, /several sources given \(path, git\)/],
      // Fields of the wrong type are a bad request too.
      [{ name: ["a"], sourcePath: "/x" }, /bad request body: name/],
      [{ name: "t1", sourcePath: join(FIXTURES, "fixture-node"), env: { A: 1 } }, /bad request body: env/],
    ];
    for (const [body, message] of cases) {
      const r = await post("/load", body);
      expect(r.status, `${JSON.stringify(body)} -> ${r.body}`).toBe(400);
      expect(JSON.parse(r.body), JSON.stringify(body)).toEqual({ error: expect.stringMatching(message) });
    }
    // A hostile name is refused as such on every path, never answered as an unknown service.
    for (const r of [
      await post("/call", { name: "../x", tool: "echo", args: {} }),
      await post("/unload", { name: "$(id)" }),
      await get(`/list?name=${encodeURIComponent("a;id")}`),
      await get(`/logs?name=${encodeURIComponent("../../etc")}&lines=5`),
    ]) {
      expect(r.status, r.body).toBe(400);
      expect(JSON.parse(r.body)).toEqual({ error: expect.stringMatching(/service name .* is not allowed/) });
    }
    expect(recorded()).toEqual([]);
    expect(existsSync(sentinel())).toBe(false);
    expect(existsSync(join(h.stateDir, "services")) ? readdirSync(join(h.stateDir, "services")) : []).toEqual([]);
    expect(JSON.parse((await get("/health")).body).services).toEqual([]);

    // The control: a good git load through the same herd runs the wrapped git (so an empty record above means nothing ran).
    const ok = await post("/load", { name: "good", gitUrl: repo, gitBranch: "main", env: { SECRET_V: "audit-secret-9876" } });
    expect(ok.status, ok.body).toBe(200);
    expect(recorded().some((l) => l.startsWith("git ") && l.includes(" clone "))).toBe(true);
    expect((await post("/call", { name: "good", tool: "echo", args: { text: "bulk-argument-5555" } })).status).toBe(200);
    expect((await post("/unload", { name: "good" })).status).toBe(200);

    // The broker's changes are audited like the service_* tools: who, which service, ok or why not; no env values, no call arguments.
    const auditFile = join(dir, "audit.jsonl");
    expect(await waitFor(() => existsSync(auditFile) && readFileSync(auditFile, "utf8").includes('"what":"runner /unload","where":"good"'))).toBe(true);
    const audit = readFileSync(auditFile, "utf8");
    const entries = audit.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { who: string; what: string; where?: string; ok: boolean; error?: string });
    const runner = entries.filter((e) => e.what.startsWith("runner "));
    expect(runner.filter((e) => e.where === "good").map((e) => [e.what, e.ok])).toEqual([["runner /load", true], ["runner /call", true], ["runner /unload", true]]);
    expect(runner.find((e) => e.where === "g1")).toMatchObject({ what: "runner /load", ok: false, error: expect.stringMatching(/git URL .* refused/) });
    for (const e of runner) expect(e.who).toMatch(/^tok-[0-9a-f]{8}$/);
    expect(audit).not.toContain("audit-secret-9876");
    expect(audit).not.toContain("bulk-argument-5555");
  }, 60_000);
});
