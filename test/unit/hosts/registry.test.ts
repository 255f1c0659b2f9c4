import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { errorResult, type Backend, type BackendKind } from "../../../src/backends/backend.js";
import { loadConfig } from "../../../src/config.js";
import { silentLogger } from "../../../src/log.js";
import { HostRegistry, declareHosts, parseRegistryText, type BackendFactory } from "../../../src/hosts/registry.js";

const F = "hub-backends.conf";

describe("parseRegistryText (the lmcp hub's format)", () => {
  it("reads the lmcp hub's own example unchanged", () => {
    const text = [
      "# name ssh_host lmcp_url token",
      "boltzmann boltzmann.fritz.box http://boltzmann.fritz.box:8080/mcp sekrit-token",
      "tesla tesla http://tesla.fritz.box:8080/mcp -",
      "broglie - http://broglie.fritz.box:8080/mcp -",
      "",
      "   # indented comment",
      "\tplanck\tplanck.lan\t-\t-  ",
    ].join("\n");
    const { hosts, problems } = parseRegistryText(text, F);
    expect(problems).toEqual([]);
    expect(hosts).toEqual([
      { name: "boltzmann", origin: `${F}:2`, peer: { url: "http://boltzmann.fritz.box:8080/mcp", token: "sekrit-token" }, ssh: "boltzmann.fritz.box" },
      { name: "tesla", origin: `${F}:3`, peer: { url: "http://tesla.fritz.box:8080/mcp" }, ssh: "tesla" },
      { name: "broglie", origin: `${F}:4`, peer: { url: "http://broglie.fritz.box:8080/mcp" } },
      { name: "planck", origin: `${F}:7`, ssh: "planck.lan" },
    ]);
  });

  it("accepts CRLF line ends, user@host ssh targets and a trailing comment after four fields", () => {
    const { hosts, problems } = parseRegistryText("a root@a.lan - -\r\nb b.lan http://b:1/mcp tok # the lab box\r\n", F);
    expect(problems).toEqual([]);
    expect(hosts.map((h) => [h.name, h.ssh, h.peer?.token])).toEqual([
      ["a", "root@a.lan", undefined],
      ["b", "b.lan", "tok"],
    ]);
  });

  it.each([
    ["lonely", /expected 'name ssh_host lmcp_url token'.*1 field/],
    ["a b http://x/mcp tok extra", /5 field/],
    ["-bad host - -", /bad host name '-bad'/],
    ["_x host - -", /bad host name/],
    ["has/slash host - -", /bad host name/],
    [`${"n".repeat(64)} host - -`, /bad host name/],
    ["h - - -", /neither ssh_host nor lmcp_url/],
    ["h host ftp://x/ -", /not an http\(s\) URL/],
    ["h host not-a-url -", /not an http\(s\) URL/],
    ["h - - tok", /token without an lmcp_url/],
    ["h -oProxyCommand=evil - -", /bad ssh_host/],
    ["h host;rm - -", /bad ssh_host/],
    ["h host$(x) - -", /bad ssh_host/],
  ])("refuses %j with a message naming the file and line", (line, why) => {
    const { hosts, problems } = parseRegistryText(`ok ok.lan - -\n\n${line}\nalso also.lan - -\n`, F);
    expect(hosts.map((h) => h.name)).toEqual(["ok", "also"]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.where).toBe(`${F}:3`);
    expect(problems[0]!.message).toMatch(why);
  });

  it("keeps the first of duplicate names and says where it was", () => {
    const { hosts, problems } = parseRegistryText("x x1 - -\ny y - -\nx x2 - -\n", F);
    expect(hosts.map((h) => [h.name, h.ssh])).toEqual([["x", "x1"], ["y", "y"]]);
    expect(problems).toEqual([{ where: `${F}:3`, message: `duplicate host 'x' (first declared at ${F}:1)` }]);
  });
});

describe("declareHosts and HostRegistry", () => {
  const dir = mkdtempSync(join(tmpdir(), "herd-registry-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const config = (file: object, env: Record<string, string> = {}) => {
    const path = join(dir, `c${Math.random()}.json`);
    writeFileSync(path, JSON.stringify(file));
    return loadConfig({ file: path, env, flags: {} });
  };

  it("merges local, config hosts and the registry file (from LMCP_HUB_BACKENDS); a broken line spares the rest", () => {
    const reg = join(dir, "hub-backends.conf");
    writeFileSync(reg, "alpha alpha.lan http://alpha:8080/mcp - \nthis line is broken because it is long\nbeta - http://beta:8080/mcp tok\n");
    const c = config({ hosts: [{ name: "gamma", ssh: { host: "gamma.lan", port: 2222 } }] }, { LMCP_HUB_BACKENDS: reg });
    const { hosts, problems } = declareHosts(c);
    expect(hosts.map((h) => h.name)).toEqual(["local", "gamma", "alpha", "beta"]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.where).toBe(`${reg}:2`);
  });

  it("reports an unreadable registry file without losing the other hosts", () => {
    const c = config({ hostsFile: join(dir, "missing.conf"), hosts: [{ name: "g", peer: { url: "http://g:1/mcp" } }] });
    const { hosts, problems } = declareHosts(c);
    expect(hosts.map((h) => h.name)).toEqual(["local", "g"]);
    expect(problems[0]!.message).toMatch(/cannot read the host registry: ENOENT/);
  });

  it("reserves 'local' for this machine unless local is false; refuses a host with no path", () => {
    const on = declareHosts(config({ hosts: [{ name: "local", ssh: { host: "x" } }, { name: "empty" }] }));
    expect(on.hosts.map((h) => h.name)).toEqual(["local"]);
    expect(on.problems.map((p) => p.message).join("\n")).toMatch(/'local' is this machine[\s\S]*host 'empty': give ssh or peer/);
    const off = declareHosts(config({ local: false, hosts: [{ name: "local", ssh: { host: "x" } }] }));
    expect(off.hosts).toMatchObject([{ name: "local", ssh: { host: "x" } }]);
    expect(off.problems).toEqual([]);
  });

  it("creates backends lazily, once, in path order (peer then ssh), and closes them", async () => {
    const made: string[] = [];
    const closed: string[] = [];
    const fake = (kind: BackendKind, label: string): Backend => {
      made.push(label);
      return {
        kind,
        listTools: async () => [],
        callTool: async () => errorResult("unused"),
        close: async () => void closed.push(label),
      };
    };
    const factory: BackendFactory = {
      peer: (p, h) => fake("peer", `peer:${h}:${p.url}`),
      ssh: (s, h) => fake("ssh", `ssh:${h}:${typeof s === "string" ? s : s.host}`),
      local: () => fake("local", "local"),
    };
    const { hosts, problems } = parseRegistryText("a a.lan http://a:1/mcp -\nb b.lan - -\n", F);
    const registry = new HostRegistry(hosts, problems, factory);
    expect(registry.names()).toEqual(["a", "b"]);
    expect(made).toEqual([]);
    expect(registry.get("a")!.paths).toEqual(["peer", "ssh"]);
    expect(registry.get("a")!.backends().map((b) => b.kind)).toEqual(["peer", "ssh"]);
    registry.get("a")!.backends();
    expect(made).toEqual(["peer:a:http://a:1/mcp", "ssh:a:a.lan"]);
    await registry.close();
    expect(closed.sort()).toEqual(["peer:a:http://a:1/mcp", "ssh:a:a.lan"]);
  });

  it("logs each problem when loading", () => {
    const reg = join(dir, "bad.conf");
    writeFileSync(reg, "bad!name x - -\n");
    const lines: string[] = [];
    const log = { ...silentLogger, warn: (m: string, f?: Record<string, unknown>) => void lines.push(`${m} ${JSON.stringify(f)}`) };
    const registry = HostRegistry.load(config({ hostsFile: reg }), log, { peer: () => { throw new Error(); }, ssh: () => { throw new Error(); }, local: () => { throw new Error(); } });
    expect(registry.names()).toEqual(["local"]);
    expect(lines.join("\n")).toContain(`${reg}:1`);
  });
});
