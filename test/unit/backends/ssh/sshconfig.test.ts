import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkSshWord,
  hostBlockMatches,
  parseProxyJump,
  parseSshConfigText,
  resolveSshTarget,
} from "../../../../src/backends/ssh/sshconfig.js";

let dir: string;
let home: string;
let configFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-sshconfig-"));
  home = join(dir, "home");
  mkdirSync(join(home, ".ssh"), { recursive: true });
  writeFileSync(join(home, ".ssh", "id_web"), "key");
  writeFileSync(join(home, ".ssh", "id_ed25519"), "key");
  configFile = join(dir, "config");
  writeFileSync(
    configFile,
    [
      "# a comment",
      "Host web web.alias",
      "  HostName web.example.com",
      "  User deploy",
      "  Port 2201",
      `  IdentityFile ${home}/.ssh/id_web`,
      `  IdentityFile ${home}/.ssh/id_missing`,
      "  ProxyJump bastion",
      "Host proxied",
      "  HostName db.example.com",
      "  User dba",
      "  Port 2202",
      "  ProxyCommand nc -X connect -x proxy:3128 %h %p # %r %n %%",
      "Host bastion",
      "  HostName bastion.example.com",
      "  User jump",
      "Host *.internal !secret.internal",
      "  User internal",
      "  Port=2222",
      "Host *",
      "  User fallback",
      "  Port 2299",
      `  IdentityFile ${home}/.ssh/id_ed25519`,
      "  StrictHostKeyChecking accept-new",
      `  UserKnownHostsFile ${home}/kh1 ${home}/kh2`,
      "",
    ].join("\n"),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const env = () => ({ PATH: process.env.PATH, USER: "me", SSH_AUTH_SOCK: "/run/agent.sock" });

describe.each([
  ["ssh -G", undefined],
  ["built-in parser", null],
] as const)("resolveSshTarget via %s", (_name, sshBinary) => {
  const resolve = (spec: Parameters<typeof resolveSshTarget>[0]) =>
    resolveSshTarget(spec, { sshBinary, configFile, home, env: env() });

  it("takes ProxyCommand with %h %p %r %n %% expanded as OpenSSH does", async () => {
    const t = await resolve({ host: "proxied" });
    expect(t.proxyCommand).toBe("nc -X connect -x proxy:3128 db.example.com 2202 # dba proxied %");
    expect(t.jumps).toEqual([]);
    expect(t.warnings.join(" ")).not.toMatch(/ProxyCommand/);
    expect((await resolve({ host: "web" })).proxyCommand).toBeUndefined();
  });

  it.each(["a$(id)", "a`id`", "a|b", "a&b", "a>b", "a'b"])("refuses to put the user %j into a ProxyCommand", async (user) => {
    await expect(resolve({ host: "proxied", user })).rejects.toThrow(/refusing to put .* into a ProxyCommand \(%r\)/);
  });

  it("takes HostName, User, Port, existing IdentityFiles, ProxyJump, known_hosts files", async () => {
    const t = await resolve({ host: "web" });
    expect(t).toMatchObject({ alias: "web", hostName: "web.example.com", user: "deploy", port: 2201, agent: "/run/agent.sock" });
    expect(t.source).toBe(sshBinary === null ? "ssh_config" : "ssh -G");
    expect(t.identityFiles).toEqual([join(home, ".ssh/id_web"), join(home, ".ssh/id_ed25519")]);
    expect(t.knownHostsFiles.slice(0, 2)).toEqual([join(home, "kh1"), join(home, "kh2")]);
    expect(t.strictHostKeyChecking).toBe("accept-new");
    expect(t.jumps).toHaveLength(1);
    expect(t.jumps[0]).toMatchObject({ alias: "bastion", hostName: "bastion.example.com", user: "jump", port: 2299 });
  });

  it("lets explicit spec fields win", async () => {
    const t = await resolve({ host: "web", user: "alice", port: 2022, identityFile: join(home, ".ssh/id_ed25519"), proxyJump: "none" });
    expect(t).toMatchObject({ hostName: "web.example.com", user: "alice", port: 2022, jumps: [] });
    expect(t.identityFiles[0]).toBe(join(home, ".ssh/id_ed25519"));
  });

  it("applies wildcard and negated Host patterns, first value winning", async () => {
    expect(await resolve({ host: "db.internal" })).toMatchObject({ hostName: "db.internal", user: "internal", port: 2222 });
    expect(await resolve({ host: "secret.internal" })).toMatchObject({ user: "fallback", port: 2299 });
  });

  it("resolves a ProxyJump chain given in the spec", async () => {
    const t = await resolve({ host: "plain.example", proxyJump: "bastion,ops@hop2:2200" });
    expect(t.jumps.map((j) => `${j.user}@${j.hostName}:${j.port}`)).toEqual(["jump@bastion.example.com:2299", "ops@hop2:2200"]);
  });

  it.each(["-oProxyCommand=x", "a b", "a;b", "a\nb", "a\tb", "", "x\x00y"])("refuses host %j before running anything", async (host) => {
    await expect(resolve({ host })).rejects.toThrow(/invalid ssh host/);
  });

  it("refuses a hostile user and a bad port", async () => {
    await expect(resolve({ host: "web", user: "-oProxyCommand=x" })).rejects.toThrow(/invalid ssh user/);
    await expect(resolve({ host: "web", port: 70000 })).rejects.toThrow(/invalid ssh port/);
  });
});

describe("pieces", () => {
  it("checkSshWord allows ordinary names", () => {
    for (const ok of ["host", "user@x", "10.0.0.1", "::1", "h-1.example.com"]) expect(() => checkSshWord("h", ok)).not.toThrow();
  });

  it("parses ProxyJump hops", () => {
    expect(parseProxyJump("a,u@b:2200,ssh://v@c:22,[::1]:23")).toEqual([
      { host: "a" },
      { host: "b", user: "u", port: 2200 },
      { host: "c", user: "v", port: 22 },
      { host: "::1", port: 23 },
    ]);
    expect(() => parseProxyJump("u@")).toThrow(/invalid ProxyJump hop/);
  });

  it("Host patterns: any positive, no negative", () => {
    expect(hostBlockMatches(["*.a", "!x.a"], "y.a")).toBe(true);
    expect(hostBlockMatches(["*.a", "!x.a"], "x.a")).toBe(false);
    expect(hostBlockMatches(["!x.a"], "y.a")).toBe(false);
    expect(hostBlockMatches(["h?st"], "HOST")).toBe(true);
  });

  it("the built-in parser skips Match blocks and Include with a warning, keeps quoted values", () => {
    const warnings: string[] = [];
    const v = parseSshConfigText(
      'Match host x exec "true"\n  User matched\nHost *\n  Include other\n  IdentityFile "/a b/key"\n  User plain\n',
      "x",
      warnings,
    );
    expect(v.get("user")).toEqual(["plain"]);
    expect(v.get("identityfile")).toEqual(["/a b/key"]);
    expect(warnings).toHaveLength(2);
  });
});
