import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { fixture, NODE, text, until } from "../fixtures/services-helpers.js";

const herds: Herd[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function herd(opts: Parameters<typeof startHerd>[0] = {}): Promise<Herd> {
  const h = await startHerd(opts);
  herds.push(h);
  return h;
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "herd-src-"));
  dirs.push(d);
  return d;
}

describe("service sources through an MCP client of mcp-herd", () => {
  it("loads a second mcp-herd over HTTP by url and supervises it", async () => {
    const peer = await herd({ http: true });
    const h = await herd();
    const r = await h.client.callTool({ name: "service_load", arguments: { name: "peer", url: peer.url } });
    expect(r.isError, text(r)).toBeFalsy();
    expect((r.structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name)).toContain("herd_status");
    const status = await h.client.callTool({ name: "peer__herd_status", arguments: {} });
    expect(text(status)).toMatch(/^mcp-herd /);
    await h.client.callTool({ name: "service_load", arguments: { name: "echo", command: NODE, args: [fixture("echo-server.mjs")] } });
    const nested = await h.client.callTool({
      name: "service_call",
      arguments: { name: "peer", tool: "service_list", arguments: {} },
    });
    expect(nested.isError).toBeFalsy();

    peer.proc!.kill("SIGKILL");
    const down = await h.client.callTool({ name: "service_call", arguments: { name: "peer", tool: "herd_status", arguments: {} } });
    expect(down.isError).toBe(true);
    const status_ = async () => {
      const l = await h.client.callTool({ name: "service_list", arguments: { name: "peer" } });
      return (l.structuredContent as { services: { status: string }[] }).services[0]!.status;
    };
    expect(await until(async () => ["restarting", "crashed"].includes(await status_()), 10_000)).toBe(true);
    // Its proxied tools (listed while it restarts, or not once crashed) answer isError saying why.
    const viaProxy = await h.client.callTool({ name: "peer__herd_status", arguments: {} });
    expect(viaProxy.isError).toBe(true);
    expect(text(viaProxy)).toMatch(/service 'peer' is (restarting|crashed)/);
    expect(text(await h.client.callTool({ name: "echo__echo", arguments: { message: "alive" } }))).toBe("alive");
  });

  it("loads a git repository at a branch (created here), and the python fixture runs from it", async () => {
    const repo = tempDir();
    execFileSync("git", ["init", "-q", "-b", "main", repo]);
    const git = (...args: string[]) => execFileSync("git", ["-C", repo, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args]);
    writeFileSync(join(repo, "README.md"), "main branch has no server\n");
    git("add", ".");
    git("commit", "-qm", "main");
    git("checkout", "-qb", "feature");
    copyFileSync(fixture("fixture-py/server.py"), join(repo, "server.py"));
    git("add", ".");
    git("commit", "-qm", "server");
    git("checkout", "-q", "main");
    const h = await herd();
    const r = await h.client.callTool({ name: "service_load", arguments: { name: "fromgit", git: repo, ref: "feature" } });
    expect(r.isError, text(r)).toBeFalsy();
    expect(text(await h.client.callTool({ name: "fromgit__echo", arguments: { message: "g" } }))).toBe("py:g");
    const bad = await h.client.callTool({ name: "service_load", arguments: { name: "badref", git: repo, ref: "-x" } });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/ref "-x" refused/);
  });

  it("a failing install ends in `failed` with the installer's last lines; other services still answer", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "app"));
    writeFileSync(join(dir, "app", "package.json"), JSON.stringify({ name: "broken", main: "index.js", dependencies: { "not-here": "file:../missing.tgz" } }));
    writeFileSync(join(dir, "app", "index.js"), "");
    const h = await herd();
    await h.client.callTool({ name: "service_load", arguments: { name: "echo", command: NODE, args: [fixture("echo-server.mjs")] } });
    const r = await h.client.callTool({ name: "service_load", arguments: { name: "broken", path: join(dir, "app") } });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/npm (install|ci)/);
    expect(text(r)).toMatch(/last \d+ output lines/);
    const list = await h.client.callTool({ name: "service_list", arguments: { name: "broken" } });
    expect((list.structuredContent as { services: { status: string }[] }).services[0]!.status).toBe("failed");
    expect(text(await h.client.callTool({ name: "echo__echo", arguments: { message: "ok" } }))).toBe("ok");
    expect(await until(async () => (await h.client.listTools()).tools.some((t) => t.name === "echo__echo"), 1000)).toBe(true);
  });
});
