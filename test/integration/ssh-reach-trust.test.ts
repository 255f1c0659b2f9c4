import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, cleanEnv, CLI, startHerd, type Herd } from "../helpers/herd.js";
import { keygen, startSshd, type Sshd } from "../helpers/sshd.js";

const data = (r: CallToolResult) => (r.structuredContent ?? {}) as Record<string, unknown>;

/** A TCP relay run as a ProxyCommand: argv host port, stdio both ways; it notes its argv so token expansion shows. */
const RELAY = `
const net = require("node:net");
const fs = require("node:fs");
fs.writeFileSync(process.env.RELAY_NOTE, JSON.stringify(process.argv.slice(2)));
const s = net.connect({ host: process.argv[2], port: Number(process.argv[3]) });
process.stdin.pipe(s); s.pipe(process.stdout);
s.on("close", () => process.exit(0)); process.stdin.on("end", () => s.end());
`;

describe("SSH reach: a host behind a ProxyCommand, and host certificates from @cert-authority", () => {
  let dir: string;
  let plain: Sshd;
  let certified: Sshd;
  let otherCa: Sshd;
  let hub: Herd;
  let caPub: string;
  let config: string;
  const call = async (name: string, args: Record<string, unknown>) =>
    (await hub.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-reach-trust-"));
    const ca = join(dir, "ca");
    keygen(ca, "herd-test-ca");
    caPub = readFileSync(ca + ".pub", "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    const rogueCa = join(dir, "rogue-ca");
    keygen(rogueCa, "herd-rogue-ca");
    plain = await startSshd();
    certified = await startSshd({ hostCert: { caKey: ca, principals: ["127.0.0.1"] } });
    otherCa = await startSshd({ hostCert: { caKey: rogueCa, principals: ["127.0.0.1"] } });

    const relay = join(dir, "relay.cjs");
    writeFileSync(relay, RELAY);
    const sshConfig = join(dir, "ssh_config");
    // behind.invalid never resolves: only the ProxyCommand reaches the server.
    writeFileSync(
      sshConfig,
      [
        "Host behind",
        "  HostName behind.invalid",
        `  Port ${plain.port}`,
        `  User ${plain.user}`,
        `  IdentityFile ${plain.identityFile}`,
        `  ProxyCommand ${process.execPath} ${relay} 127.0.0.1 %p %h %r %n %%`,
        "",
      ].join("\n"),
    );
    const behindKnown = join(dir, "known_hosts.behind");
    writeFileSync(behindKnown, `[behind.invalid]:${plain.port} ${plain.hostKeyPub}\n`);

    const caKnown = join(dir, "known_hosts.ca");
    writeFileSync(caKnown, `@cert-authority [127.0.0.1]:* ${caPub}\n`);
    const revokedKnown = join(dir, "known_hosts.revoked");
    writeFileSync(revokedKnown, `@cert-authority [127.0.0.1]:* ${caPub}\n@revoked [127.0.0.1]:${certified.port} ${certified.hostKeyPub}\n`);
    const revokedCaKnown = join(dir, "known_hosts.revoked-ca");
    writeFileSync(revokedCaKnown, `@cert-authority [127.0.0.1]:* ${caPub}\n@revoked * ${caPub}\n`);
    config = join(dir, "hub.json");
    const spec = (s: Sshd, knownHostsFile: string) => ({ ...s.hostSpec(), knownHostsFile });
    writeFileSync(
      config,
      JSON.stringify({
        hosts: [
          { name: "behind", ssh: { host: "behind", sshConfig, knownHostsFile: behindKnown } },
          { name: "signed", ssh: spec(certified, caKnown) },
          { name: "revoked", ssh: spec(certified, revokedKnown) },
          { name: "revokedca", ssh: spec(certified, revokedCaKnown) },
          { name: "rogue", ssh: spec(otherCa, caKnown) },
          { name: "uncertified", ssh: spec(plain, caKnown) },
        ],
      }),
    );
    hub = await startHerd({ args: ["--config", config], env: { LMCP_HUB_SSH_TIMEOUT: "10", RELAY_NOTE: join(dir, "relay-note.json") } });
  }, 60_000);

  afterAll(async () => {
    await hub?.close();
    for (const s of [plain, certified, otherCa]) await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reaches a host only a ProxyCommand can reach, with %h %p %r %n %% expanded as OpenSSH does", async () => {
    const r = await call("remote_shell", { host: "behind", command: "echo via-proxy" });
    expect(r.isError, text(r)).toBeFalsy();
    expect(data(r)).toMatchObject({ stdout: "via-proxy\n", via: "ssh" });
    const note = JSON.parse(readFileSync(join(dir, "relay-note.json"), "utf8")) as string[];
    expect(note).toEqual(["127.0.0.1", String(plain.port), "behind.invalid", plain.user, "behind", "%"]);
    const w = await call("remote_write_file", { host: "behind", path: join(dir, "through-proxy.txt"), content: "x'y\n" });
    expect(w.isError, text(w)).toBeFalsy();
    expect(readFileSync(join(dir, "through-proxy.txt"), "utf8")).toBe("x'y\n");
  });

  it("accepts a host key signed by the CA listed as @cert-authority", async () => {
    const r = await call("remote_shell", { host: "signed", command: "echo signed" });
    expect(r.isError, text(r)).toBeFalsy();
    expect(data(r).stdout).toBe("signed\n");
  });

  it("refuses the same key marked @revoked, a revoked CA, another CA's certificate and an uncertified key, saying why", async () => {
    const revoked = await call("remote_shell", { host: "revoked", command: "echo no" });
    expect(revoked.isError).toBe(true);
    expect(text(revoked)).toMatch(/is marked @revoked in .*known_hosts\.revoked:2: connection refused/);
    const revokedCa = await call("remote_shell", { host: "revokedca", command: "echo no" });
    expect(revokedCa.isError).toBe(true);
    expect(text(revokedCa)).toMatch(/its CA is marked @revoked in .*known_hosts\.revoked-ca:2/);
    const rogue = await call("remote_shell", { host: "rogue", command: "echo no" });
    expect(rogue.isError).toBe(true);
    expect(text(rogue)).toMatch(/is not an @cert-authority for \[127\.0\.0\.1\]:\d+/);
    const none = await call("remote_shell", { host: "uncertified", command: "echo no" });
    expect(none.isError).toBe(true);
    expect(text(none)).toMatch(/only @cert-authority entries match, and the host offers no host certificate/);
    expect(existsSync(join(dir, "pwned"))).toBe(false);
  });

  it("doctor says the host is reached through its ProxyCommand and that @cert-authority covers the signed host", () => {
    const env = cleanEnv({ LMCP_HUB_BACKENDS: "", LMCP_HUB_SSH_TIMEOUT: "10", RELAY_NOTE: join(dir, "relay-note-doctor.json") });
    delete env.SSH_AUTH_SOCK;
    const r = spawnSync(process.execPath, [CLI, "doctor", "--config", config], { env, encoding: "utf8", timeout: 90_000 });
    const row = (check: string) => r.stdout.split("\n").find((l) => l.startsWith(check + " "))?.slice(check.length).trim() ?? `no row ${check} in ${r.stdout}`;
    expect(row("host behind ssh login")).toMatch(/^OK\s+logged in as .*@behind\.invalid:\d+ through its ProxyCommand/);
    expect(row("host behind ssh paths")).toMatch(/ProxyCommand yes$/);
    expect(row("host signed known_hosts")).toMatch(/^OK\s+.*matches @cert-authority .*known_hosts\.ca:1/);
    expect(row("host signed ssh login")).toMatch(/^OK /);
    expect(row("host revoked ssh login")).toMatch(/^FAIL .*@revoked/);
  }, 120_000);
});
