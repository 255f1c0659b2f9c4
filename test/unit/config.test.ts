import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCli } from "../../src/cli.js";
import { ConfigError, isLoopback, loadConfig, parseListen } from "../../src/config.js";

const dir = mkdtempSync(join(tmpdir(), "herd-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, body: unknown) => {
  const p = join(dir, name);
  writeFileSync(p, typeof body === "string" ? body : JSON.stringify(body));
  return p;
};

describe("config layering", () => {
  it("works with nothing at all: stdio, local host, no services", () => {
    const c = loadConfig({ env: {}, flags: {} });
    expect(c.mode).toBe("stdio");
    expect(c.local).toBe(true);
    expect(c.services).toEqual({});
    expect(c.http).toMatchObject({ host: "127.0.0.1", port: 8090, maxBodyBytes: 4 * 1024 * 1024 });
    expect(c.token).toBeUndefined();
  });

  it("applies defaults < file < env < flags", () => {
    const f = file("layers.json", { logLevel: "warn", stateDir: "/from/file", probeTtlSeconds: 5, token: "file-token-0123456789" });
    const fromFile = loadConfig({ file: f, env: {}, flags: {} });
    expect(fromFile).toMatchObject({ logLevel: "warn", stateDir: "/from/file", probeTtlSeconds: 5, token: "file-token-0123456789" });
    const fromEnv = loadConfig({
      file: f,
      env: { MCP_HERD_LOG_LEVEL: "error", MCP_HERD_STATE_DIR: "/from/env", LMCP_HUB_PROBE_TTL: "7", MCP_HERD_TOKEN: "env-token-0123456789" },
      flags: {},
    });
    expect(fromEnv).toMatchObject({ logLevel: "error", stateDir: "/from/env", probeTtlSeconds: 7, token: "env-token-0123456789" });
    const fromFlags = loadConfig({
      file: f,
      env: { MCP_HERD_LOG_LEVEL: "error", MCP_HERD_TOKEN: "env-token-0123456789" },
      flags: { logLevel: "debug", stateDir: "/from/flag", token: "flag-token-0123456789", http: "127.0.0.2:9000" },
    });
    expect(fromFlags).toMatchObject({ logLevel: "debug", stateDir: "/from/flag", token: "flag-token-0123456789", mode: "http" });
    expect(fromFlags.http).toMatchObject({ host: "127.0.0.2", port: 9000 });
  });

  it("accepts a Claude Desktop mcpServers block as services", () => {
    const f = file("claude.json", { mcpServers: { fs: { command: "npx", args: ["-y", "x"], env: { A: "1" } } } });
    expect(loadConfig({ file: f, env: {}, flags: {} }).services.fs).toMatchObject({ command: "npx", args: ["-y", "x"] });
  });

  it.each([
    [{ bogus: 1 }, /unknown key 'bogus'/],
    [{ http: { port: "80" } }, /http\.port/],
    [{ http: { port: 70000 } }, /http\.port/],
    [{ http: { nope: true } }, /unknown key 'http\.nope'/],
    [{ services: { "../x": { command: "a" } } }, /services/],
    [{ services: { ok: { command: "a", shell: true } } }, /unknown key 'services\.ok\.shell'/],
    [{ hosts: [{ name: "a;id" }] }, /hosts\.0\.name/],
    [{ token: "short" }, /token/],
    [{ logLevel: "loud" }, /logLevel/],
  ])("refuses %j naming the key", (body, re) => {
    const f = file("bad.json", body);
    expect(() => loadConfig({ file: f, env: {}, flags: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ file: f, env: {}, flags: {} })).toThrow(re);
  });

  it("refuses bad env values naming the variable", () => {
    expect(() => loadConfig({ env: { LMCP_HUB_SSH_TIMEOUT: "soon" }, flags: {} })).toThrow(/LMCP_HUB_SSH_TIMEOUT/);
    expect(() => loadConfig({ env: { MCP_HERD_TOKEN: "short" }, flags: {} })).toThrow(/at least 16/);
  });
});

describe("followState (replicas following a shared state folder)", () => {
  it("is off by default; file < env < flag; the env takes 1/0, true/false", () => {
    expect(loadConfig({ env: {}, flags: {} }).followState).toBe(false);
    const on = file("follow.json", { followState: true });
    expect(loadConfig({ file: on, env: {}, flags: {} })).toMatchObject({ followState: true, origins: { followState: "file" } });
    expect(loadConfig({ file: on, env: { MCP_HERD_FOLLOW_STATE: "0" }, flags: {} })).toMatchObject({ followState: false, origins: { followState: "env" } });
    expect(loadConfig({ env: { MCP_HERD_FOLLOW_STATE: "true" }, flags: {} }).followState).toBe(true);
    expect(loadConfig({ env: { MCP_HERD_FOLLOW_STATE: "0" }, flags: { followState: true } })).toMatchObject({ followState: true, origins: { followState: "flag" } });
    expect(parseCli(["--follow-state"])).toMatchObject({ sources: { flags: { followState: true } } });
  });

  it("refuses a value that is not a boolean, naming the variable or the key", () => {
    expect(() => loadConfig({ env: { MCP_HERD_FOLLOW_STATE: "sometimes" }, flags: {} })).toThrow(/MCP_HERD_FOLLOW_STATE: expected 1 or 0/);
    expect(() => loadConfig({ file: file("follow-bad.json", { followState: "yes" }), env: {}, flags: {} })).toThrow(/followState/);
  });
});

describe("listen addresses", () => {
  it.each([
    ["8090", { host: "127.0.0.1", port: 8090 }],
    ["0", { host: "127.0.0.1", port: 0 }],
    ["0.0.0.0:80", { host: "0.0.0.0", port: 80 }],
    ["[::1]:9000", { host: "::1", port: 9000 }],
    ["localhost:1", { host: "localhost", port: 1 }],
  ])("%s", (v, want) => expect(parseListen(v)).toEqual(want));

  it.each(["", "x", "1:2:3", "host:", "99999", "-1", "a b:80"])("refuses %j", (v) => {
    expect(() => parseListen(v)).toThrow(/\[HOST:\]PORT/);
  });

  it("knows loopback", () => {
    expect(["127.0.0.1", "127.9.9.9", "::1", "localhost"].every(isLoopback)).toBe(true);
    expect(["0.0.0.0", "10.0.0.1", "::", "128.0.0.1", "localhost.evil"].some(isLoopback)).toBe(false);
  });
});

describe("command line", () => {
  it("parses flags", () => {
    expect(parseCli(["--http"])).toMatchObject({ kind: "serve", sources: { flags: { http: true } } });
    expect(parseCli(["--http", "9000", "--peer"])).toMatchObject({ sources: { flags: { http: "9000", peer: true } } });
    expect(parseCli(["--http=0.0.0.0:1", "--config", "c.json"])).toMatchObject({
      sources: { file: "c.json", flags: { http: "0.0.0.0:1" } },
    });
    expect(parseCli(["-h"])).toEqual({ kind: "help" });
  });

  it("refuses unknown options and missing values", () => {
    expect(() => parseCli(["--nope"])).toThrow(/unknown option '--nope'/);
    expect(() => parseCli(["--config"])).toThrow(/--config needs a value/);
    expect(() => parseCli(["--config", "--peer"])).toThrow(/--config needs a value/);
  });
});
