import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, ROOT, cleanEnv, startHerd, waitFor, type Herd } from "../helpers/herd.js";

describe("stdio server", () => {
  let herd: Herd;
  beforeAll(async () => {
    herd = await startHerd();
  });
  afterAll(async () => herd?.close());

  it("initializes and names itself", () => {
    const info = herd.client.getServerVersion();
    expect(info?.name).toBe("mcp-herd");
    expect(herd.client.getServerCapabilities()?.tools?.listChanged).toBe(true);
  });

  it("lists tools with all four annotations and described inputs", async () => {
    const { tools } = await herd.client.listTools();
    const status = tools.find((t) => t.name === "herd_status");
    expect(status).toBeDefined();
    for (const t of tools) {
      expect(t.annotations, t.name).toMatchObject({
        readOnlyHint: expect.any(Boolean),
        destructiveHint: expect.any(Boolean),
        idempotentHint: expect.any(Boolean),
        openWorldHint: expect.any(Boolean),
      });
    }
  });

  it("gives each output schema a distinct $id, the same on every list (a client compiles it once), and its results still validate", async () => {
    const first = (await herd.client.listTools()).tools.filter((t) => t.outputSchema);
    expect(first.length).toBeGreaterThan(5);
    const ids = new Set<string>();
    for (const t of first) {
      const $id = (t.outputSchema as { $id?: unknown }).$id;
      expect($id, t.name).toMatch(new RegExp(`^urn:mcp-herd:output:${t.name}:[0-9a-f]{16}$`));
      ids.add($id as string);
    }
    expect(ids.size).toBe(first.length);
    // The second list reuses what the client compiled for each $id; structured results are checked against it.
    const again = (await herd.client.listTools()).tools.filter((t) => t.outputSchema);
    expect(again.map((t) => t.outputSchema?.$id)).toEqual(first.map((t) => t.outputSchema?.$id));
    const r = await herd.client.callTool({ name: "herd_status", arguments: {} });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ hosts: 1 });
  });

  it("calls a tool and returns structured content with a text mirror", async () => {
    const r = await herd.client.callTool({ name: "herd_status", arguments: {} });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ version: expect.any(String), hosts: 1 });
    expect((r.content as Array<{ text: string }>)[0]!.text).toMatch(/^mcp-herd /);
  });

  it("answers an unknown tool with a JSON-RPC error and keeps serving", async () => {
    await expect(herd.client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toThrow(/Unknown tool/);
    const r = await herd.client.callTool({ name: "herd_status", arguments: {} });
    expect(r.isError).toBeFalsy();
  });

  it("keeps stdout for the protocol: logs go to stderr", async () => {
    expect(herd.stderr()).toMatch(/serving MCP on stdio/);
    // Raw stdio: every byte on stdout must be a JSON-RPC message, even while a child writes garbage
    // to its own stdout and a shell command prints, with logging at debug.
    const { spawn } = await import("node:child_process");
    const state = mkdtempSync(join(tmpdir(), "herd-stdout-"));
    const p = spawn(process.execPath, [CLI, "--state-dir", state, "--log-level", "debug"], { stdio: ["pipe", "pipe", "pipe"], env: cleanEnv() });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const send = (m: unknown) => p.stdin.write(JSON.stringify(m) + "\n");
    const answered = (id: number) => waitFor(() => out.includes(`"id":${id}`), 20_000);
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } } });
    expect(await answered(1)).toBe(true);
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    const garbage = join(ROOT, "test", "fixtures", "garbage-stdout.mjs");
    send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "service_load", arguments: { name: "noisy", command: process.execPath, args: [garbage] } } });
    send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "remote_shell", arguments: { host: "local", command: "echo printed-by-shell; echo to-stderr >&2" } } });
    expect(await answered(2)).toBe(true);
    expect(await answered(3)).toBe(true);
    p.stdin.end();
    await new Promise((r) => p.once("exit", r));
    rmSync(state, { recursive: true, force: true });
    const lines = out.split("\n").filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(JSON.parse(line).jsonrpc, line.slice(0, 200)).toBe("2.0");
    expect(err).toMatch(/DEBUG|INFO/);
  });
});

describe("stdio lifecycle", () => {
  it("exits when the client closes stdin", async () => {
    const { spawn } = await import("node:child_process");
    const state = mkdtempSync(join(tmpdir(), "herd-stdin-"));
    const p = spawn(process.execPath, [CLI, "--state-dir", state], { stdio: ["pipe", "pipe", "pipe"], env: cleanEnv() });
    const exited = new Promise<number | null>((r) => p.once("exit", (c) => r(c)));
    await new Promise((r) => p.stderr.once("data", r));
    p.stdin.end();
    const timer = setTimeout(() => p.kill("SIGKILL"), 8_000);
    expect(await exited).toBe(0);
    clearTimeout(timer);
    rmSync(state, { recursive: true, force: true });
  });
});

describe("CLI", () => {
  const state = mkdtempSync(join(tmpdir(), "herd-cli-"));
  afterAll(() => rmSync(state, { recursive: true, force: true }));
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [CLI, ...args], {
      encoding: "utf8",
      env: cleanEnv({ MCP_HERD_STATE_DIR: state, ...env }),
      timeout: 15_000,
    });

  it("prints help and version", () => {
    const help = run(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--http \[HOST:\]PORT/);
    const v = run(["--version"]);
    expect(v.stdout).toMatch(/^mcp-herd \d+\.\d+\.\d+/);
  });

  it("refuses a non-loopback listener without a token", () => {
    const r = run(["--http", "0.0.0.0:0"], { MCP_HERD_TOKEN: "" });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without a token/);
  });

  it("names the key of a bad config file", () => {
    const dir = mkdtempSync(join(tmpdir(), "herd-cfg-"));
    try {
      const file = join(dir, "c.json");
      writeFileSync(file, JSON.stringify({ http: { port: "x" }, bogus: 1 }));
      const r = run(["--config", file]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/unknown key 'bogus'/);
      expect(r.stderr).toMatch(/http\.port/);
      writeFileSync(file, "{ not json");
      expect(run(["--config", file]).stderr).toMatch(/not valid JSON/);
      expect(run(["--config", join(dir, "missing.json")]).stderr).toMatch(/cannot read \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("prints the config schema and the effective config with secrets masked and origins", () => {
    const schema = JSON.parse(run(["--print-config-schema"]).stdout);
    expect(schema.properties.http.properties.port.type).toBe("integer");
    expect(schema.additionalProperties).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), "herd-print-"));
    try {
      const file = join(dir, "c.json");
      const peerToken = "peer-secret-0123456789";
      writeFileSync(
        file,
        JSON.stringify({
          logLevel: "warn",
          services: { s: { command: "x", env: { API_KEY: "svc-secret-value" } } },
          hosts: [{ name: "h", peer: { url: "http://127.0.0.1:1/mcp", token: peerToken } }],
        }),
      );
      const r = run(["--config", file, "--print-config", "--log-format", "json"], { MCP_HERD_TOKEN: "env-secret-0123456789" });
      expect(r.status).toBe(0);
      for (const secret of ["env-secret-0123456789", peerToken, "svc-secret-value"]) expect(r.stdout).not.toContain(secret);
      const c = JSON.parse(r.stdout);
      expect(c.token).toBe("***");
      expect(c.services.s.env.API_KEY).toBe("***");
      expect(c.origins).toMatchObject({ logLevel: "file", logFormat: "flag", token: "env", stateDir: "env", peer: "default" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses unknown options and short tokens", () => {
    expect(run(["--frobnicate"]).stderr).toMatch(/unknown option '--frobnicate'/);
    expect(run(["--http", "127.0.0.1:0", "--token", "short"]).stderr).toMatch(/at least 16 characters/);
    expect(run(["--http", "nope:port"]).status).not.toBe(0);
  });
});
