import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { FIXTURES, fixture, NODE, text } from "../fixtures/services-helpers.js";

/** The error a call ends with: an isError result's text, or a JSON-RPC error's message; undefined when it succeeded. */
async function refusal(client: Client, name: string, args: Record<string, unknown>): Promise<string | undefined> {
  try {
    const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 });
    return r.isError ? text(r) || "(isError without text)" : undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

const echo = { command: NODE, args: [fixture("echo-server.mjs")] };

describe("hostile input through the MCP client", () => {
  let dir: string;
  let h: Herd;
  let stateDir: string;
  const sentinel = (tag: string) => join(dir, `SENTINEL-${tag}`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-hard-input-"));
    stateDir = join(dir, "state");
    mkdirSync(join(stateDir, "services"), { recursive: true });
    h = await startHerd({ stateDir });
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses hostile service names in every service tool; a sentinel beside the services folder survives", async () => {
    writeFileSync(join(stateDir, "keep.txt"), "keep");
    writeFileSync(join(dir, "x"), "outside");
    mkdirSync(join(stateDir, "services", "real"));
    writeFileSync(join(stateDir, "services", "real", "keep.txt"), "keep");
    const names = [
      "../../tmp/x",
      "../x",
      "foo/bar",
      "..",
      ".",
      "",
      "a".repeat(200),
      "a\0b",
      "-rf",
      "$(id)",
      "`id`",
      "a;id",
      "echo\n",
      "Echo",
      "\u0455vc", // Cyrillic dze, looks like "svc"
      "\uff45cho", // fullwidth e
      "real/../..",
    ];
    for (const name of names) {
      const load = await refusal(h.client, "service_load", { name, ...echo });
      expect(load, `service_load ${JSON.stringify(name)}`).toMatch(/1-63 characters|service name|Invalid|too_big|too_small/i);
      for (const [tool, args] of [
        ["service_unload", { name }],
        ["service_restart", { name }],
        ["service_logs", { name }],
        ["service_call", { name, tool: "echo", arguments: {} }],
      ] as const) {
        expect(await refusal(h.client, tool, args), `${tool} ${JSON.stringify(name)}`).toMatch(/(^|failed: )service name .+ is not allowed: use 1-63 characters, lower-case letters/);
      }
    }
    expect(existsSync(join(stateDir, "keep.txt"))).toBe(true);
    expect(existsSync(join(dir, "x"))).toBe(true);
    expect(existsSync(join(stateDir, "services", "real", "keep.txt"))).toBe(true);
    expect(readdirSync(join(stateDir, "services"))).toEqual(["real"]);
    const list = await h.client.callTool({ name: "service_list", arguments: {} });
    expect((list.structuredContent as { services: unknown[] }).services).toEqual([]);
  });

  it("refuses git URLs and refs carrying shell text, options or remote helpers; no sentinel is written", async () => {
    const urls = [
      "$(touch SENT)",
      "`touch SENT`",
      "https://127.0.0.1:1/r$(touch${IFS}SENT)",
      "https://127.0.0.1:1/r;touch${IFS}SENT",
      "https://127.0.0.1:1/r`touch${IFS}SENT`",
      "/tmp/r;touch SENT",
      "/tmp/$(touch SENT)",
      "--upload-pack=touch SENT",
      "-uSENT",
      "ext::sh -c touch% SENT",
      "fd::3",
      "ssh://-oProxyCommand=touch%20SENT/x",
      "-oProxyCommand=touch SENT:x",
      "git@-oProxyCommand=x:y",
    ];
    let i = 0;
    for (const url of urls) {
      const s = sentinel(`git${i++}`);
      const msg = await refusal(h.client, "service_load", { name: "hostile", git: url.replaceAll("SENT", s) });
      expect(msg, url).toMatch(/refused/);
      expect(existsSync(s), url).toBe(false);
    }
    for (const ref of ["--upload-pack=touch SENT", "-x", "$(touch SENT)", "a;touch SENT", "`touch SENT`", "..", "a\nb"]) {
      const s = sentinel(`ref${i++}`);
      const msg = await refusal(h.client, "service_load", { name: "hostile", git: "https://127.0.0.1:1/r.git", ref: ref.replaceAll("SENT", s) });
      expect(msg, ref).toMatch(/git ref .* refused/);
      expect(existsSync(s), ref).toBe(false);
    }
    expect(existsSync(join(stateDir, "services", "hostile"))).toBe(false);
  });

  it("refuses npm and python specs that are URLs, paths or shell text, running no installer", async () => {
    const npm = [
      "https://127.0.0.1:1/x.tgz",
      "file:/tmp/x",
      "/tmp/x",
      "./x",
      "../x",
      "x.tgz",
      "git+ssh://git@127.0.0.1:x/y.git",
      "user/repo",
      "npm:other@1",
      "x; touch SENT",
      "$(touch SENT)",
      "`touch SENT`",
      "x@$(touch SENT)",
      "x@1 || $(touch SENT)",
      "x@`touch SENT`",
      "--prefix=/tmp",
      "-x",
      "x\ny",
    ];
    const python = [
      "https://127.0.0.1:1/x.whl",
      "/tmp/x",
      "./x",
      "x @ file:///tmp/x",
      "x; touch SENT",
      "x|touch SENT",
      "x&&touch SENT",
      "$(touch SENT)",
      "`touch SENT`",
      "-r /etc/passwd",
      "--index-url=http://127.0.0.1:1",
      "x; python_version>'3'",
      "x\ny",
    ];
    let i = 0;
    for (const [kind, specs] of [["npm", npm], ["python", python]] as const) {
      for (const spec of specs) {
        const s = sentinel(`${kind}${i++}`);
        const msg = await refusal(h.client, "service_load", { name: "spec", [kind]: spec.replaceAll("SENT", s) });
        expect(msg, `${kind} ${spec}`).toMatch(new RegExp(`${kind} spec .* refused`, "s"));
        expect(existsSync(s)).toBe(false);
      }
    }
    expect(existsSync(join(stateDir, "services", "spec"))).toBe(false);
    expect(existsSync(join(stateDir, "npm"))).toBe(false);
  });

  it("never deletes through a service folder replaced by a symlink to a folder outside", async () => {
    const victim = join(dir, "victim");
    mkdirSync(victim);
    writeFileSync(join(victim, "precious"), "x");
    symlinkSync(victim, join(stateDir, "services", "linked"));
    const repo = join(dir, "repo");
    cpSync(join(FIXTURES, "sources", "node-server"), repo, { recursive: true });
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: repo, stdio: "ignore" });
    git("init", "-q");
    git("add", ".");
    git("commit", "-qm", "x");
    const msg = await refusal(h.client, "service_load", { name: "linked", git: repo });
    expect(msg).toMatch(/symbolic link/);
    await refusal(h.client, "service_unload", { name: "linked" });
    expect(readdirSync(victim)).toEqual(["precious"]);
    const ok = await h.client.callTool({ name: "service_load", arguments: { name: "unlinked", git: repo } });
    expect(ok.isError, text(ok)).toBeFalsy();
    await h.client.callTool({ name: "service_unload", arguments: { name: "unlinked" } });
  });
});

describe("install scripts of a local-path package", () => {
  let dir: string;
  let h: Herd;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-hard-scripts-"));
    h = await startHerd();
  });
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A dependency-free node MCP server folder whose own postinstall and whose local dependency's install script write sentinels. */
  function app(tag: string): { app: string; own: string; dep: string } {
    const app = join(dir, `app-${tag}`);
    cpSync(join(FIXTURES, "sources", "node-server"), app, { recursive: true });
    const own = join(dir, `POSTINSTALL-${tag}`);
    const depSentinel = join(dir, `DEP-INSTALL-${tag}`);
    const dep = join(dir, `dep-${tag}`);
    mkdirSync(dep);
    const touch = (f: string) => `node -e "require('fs').writeFileSync(process.argv[1], 'ran')" ${JSON.stringify(f)}`;
    writeFileSync(join(dep, "package.json"), JSON.stringify({ name: "local-dep", version: "1.0.0", scripts: { install: touch(depSentinel) } }));
    writeFileSync(join(dep, "index.js"), "module.exports = 1;\n");
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "app",
        version: "1.0.0",
        bin: { app: "server.js" },
        scripts: { postinstall: touch(own) },
        dependencies: { "local-dep": `file:${dep}` },
      }),
    );
    return { app, own, dep: depSentinel };
  }

  it("installs without running install scripts unless the service sets allow_scripts: true", async () => {
    const safe = app("safe");
    const r = await h.client.callTool({ name: "service_load", arguments: { name: "safe", path: safe.app } }, undefined, { timeout: 60_000 });
    expect(r.isError, text(r)).toBeFalsy();
    expect(existsSync(join(safe.app, "node_modules", "local-dep"))).toBe(true);
    expect(existsSync(safe.own)).toBe(false);
    expect(existsSync(safe.dep)).toBe(false);

    const opted = app("opted");
    const o = await h.client.callTool({ name: "service_load", arguments: { name: "opted", path: opted.app, allow_scripts: true } }, undefined, {
      timeout: 60_000,
    });
    expect(o.isError, text(o)).toBeFalsy();
    expect(existsSync(opted.own)).toBe(true);
    expect(existsSync(opted.dep)).toBe(true);
  });
});

describe("hosts", () => {
  let dir: string;
  let h: Herd;
  let listener: Server;
  let connections = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-hard-hosts-"));
    listener = createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
    const port = (listener.address() as { port: number }).port;
    const ssh = { host: "127.0.0.1", port, user: "nobody", identityFile: join(dir, "no-key") };
    writeFileSync(join(dir, "no-key"), "not a key");
    const config = join(dir, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        hosts: [
          { name: "real", ssh },
          { name: "viapeer", peer: { url: `http://127.0.0.1:${port}/mcp` } },
        ],
      }),
    );
    h = await startHerd({ args: ["--config", config], env: { LMCP_HUB_SSH_TIMEOUT: "3", LMCP_HUB_LMCP_TIMEOUT: "3" } });
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((r) => listener?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses names not in the registry, option-like and shell-like names before any connection", async () => {
    const s = join(dir, "SENTINEL");
    const hostile = [
      `-oProxyCommand=touch ${s}`,
      `-oProxyCommand=nc 127.0.0.1 ${(listener.address() as { port: number }).port}`,
      "a;id",
      "real;id",
      "real id",
      "real\nid",
      `$(touch ${s})`,
      `\`touch ${s}\``,
      "../real",
      "nope",
      "",
    ];
    for (const host of hostile) {
      for (const [tool, args] of [
        ["remote_shell", { command: `touch ${s}` }],
        ["remote_read_file", { path: "/etc/hostname" }],
        ["remote_write_file", { path: s, content: "x" }],
        ["remote_list_dir", { path: "/" }],
      ] as const) {
        expect(await refusal(h.client, tool, { host, ...args }), `${tool} on ${JSON.stringify(host)}`).toBeDefined();
      }
    }
    expect(existsSync(s)).toBe(false);
    expect(connections).toBe(0);
    // The counter works: a registered host does connect (and fails, the listener hangs up).
    expect(await refusal(h.client, "remote_shell", { host: "real", command: "true" })).toBeDefined();
    expect(connections).toBeGreaterThan(0);
  });
});
