import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, cleanEnv, startHerd, type Herd } from "../helpers/herd.js";
import { freePort, startSshd, type Sshd } from "../helpers/sshd.js";
import { fixture, NODE } from "../fixtures/services-helpers.js";

const PEER_TOKEN = "doctor-peer-token-0123456789abcdef";
const SECRET = "s3cret-value-never-printed";

/** Runs `mcp-herd doctor ARGS` to the end (bounded) and returns its exit code and output. */
function doctor(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const env = cleanEnv();
    const child = spawn(process.execPath, [CLI, "doctor", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`doctor did not finish within 40 s:\n${out}\n${err}`));
    }, 40_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** The table row of one check, split into its status and the rest. */
function row(out: string, check: string): string {
  const line = out.split("\n").find((l) => l.startsWith(check + " "));
  if (!line) throw new Error(`no row '${check}' in:\n${out}`);
  return line.slice(check.length).trim().replace(/\s{2,}/g, " | ");
}

describe("mcp-herd doctor", () => {
  let dir: string;
  let sshd: Sshd;
  let peer: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-doctor-"));
    [sshd, peer] = await Promise.all([startSshd(), startHerd({ http: true, args: ["--peer"], token: PEER_TOKEN })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([sshd?.stop(), peer?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("names every failure of a broken config with its fix and exits 1", async () => {
    const deadPort = await freePort();
    const emptyKnownHosts = join(dir, "empty_known_hosts");
    writeFileSync(emptyKnownHosts, "");
    const hostsFile = join(dir, "hosts.txt");
    writeFileSync(hostsFile, "oops one two three four five\n");
    const config = join(dir, "broken.json");
    writeFileSync(
      config,
      JSON.stringify({
        local: false,
        peerTimeoutSeconds: 3,
        sshTimeoutSeconds: 5,
        hosts: [
          { name: "deadpeer", peer: { url: `http://127.0.0.1:${deadPort}/mcp` } },
          { name: "wrongtoken", peer: { url: peer.url, token: "wrong-token-0123456789abcdef" } },
          { name: "badkey", ssh: { host: "127.0.0.1", port: sshd.port, user: sshd.user, identityFile: join(dir, "no_such_key"), knownHostsFile: sshd.knownHostsFile } },
          { name: "unknownkey", ssh: { ...sshd.hostSpec(), knownHostsFile: emptyKnownHosts } },
        ],
        services: { ghost: { command: "no-such-binary-for-doctor", env: { API_KEY: SECRET } } },
      }),
    );
    const r = await doctor(["--config", config, "--hosts", hostsFile]);
    expect(r.code, r.out + r.err).toBe(1);
    expect(row(r.out, "host deadpeer peer")).toMatch(/^FAIL \| http:\/\/127\.0\.0\.1:\d+\/mcp: unreachable: .*\| start the peer on that machine/);
    expect(row(r.out, "host wrongtoken peer")).toMatch(/^FAIL \| .*reachable, but the token was refused \(wrong token\) \| set this host's peer token/);
    expect(row(r.out, "host badkey ssh key")).toMatch(/^FAIL \| identity file .*no_such_key cannot be read \(ENOENT\) \| correct identityFile for 'badkey'/);
    expect(row(r.out, "host badkey known_hosts")).toMatch(/^OK /);
    expect(row(r.out, "host badkey ssh login")).toMatch(/^FAIL \| .*authentication refused.*\| give the host a readable key file/);
    expect(row(r.out, "host unknownkey ssh key")).toMatch(/^OK /);
    expect(row(r.out, "host unknownkey known_hosts")).toMatch(/^FAIL \| no entry for \[127\.0\.0\.1\]:\d+ in .*empty_known_hosts \| connect once with ssh -p \d+ .*ssh-keyscan/);
    expect(row(r.out, "host unknownkey ssh login")).toMatch(/^FAIL \| .*\| record the host's key in known_hosts/);
    expect(row(r.out, `hosts ${hostsFile}:1`)).toMatch(/^FAIL \| expected 'name ssh_host lmcp_url token'.*\| fix or remove that entry/);
    expect(row(r.out, "service ghost")).toMatch(/^FAIL \| command 'no-such-binary-for-doctor' not found on PATH \| install no-such-binary-for-doctor, or give its full path/);
    expect(row(r.out, "service ghost env")).toMatch(/^OK \| .* \+ API_KEY=\*\*\*$/);
    expect(r.out).not.toContain(SECRET);
    expect(r.out).toMatch(/\d+ checks: \d+ OK, \d+ WARN, 8 FAIL/);
  }, 60_000);

  it("reports a config that does not parse as a failed config row and exits 1", async () => {
    const config = join(dir, "invalid.json");
    writeFileSync(config, JSON.stringify({ services: { x: { command: "node", bogus: 1 } } }));
    const r = await doctor(["--config", config]);
    expect(r.code).toBe(1);
    expect(row(r.out, "config")).toMatch(/^FAIL \| .*invalid\.json: unknown key 'services\.x\.bogus' \| correct the named key/);
    expect(row(r.out, "node")).toMatch(/^OK \| .*v\d+/);
  }, 30_000);

  it("passes a good config (a real sshd with known_hosts, an mcp-herd peer with its token) and exits 0 without printing secrets", async () => {
    const config = join(dir, "good.json");
    writeFileSync(
      config,
      JSON.stringify({
        peerTimeoutSeconds: 5,
        sshTimeoutSeconds: 5,
        hosts: [
          { name: "peerbox", peer: { url: peer.url, token: PEER_TOKEN } },
          { name: "sshbox", ssh: sshd.hostSpec() },
        ],
        services: { echo: { command: NODE, args: [fixture("echo-server.mjs")], env: { API_KEY: SECRET } } },
      }),
    );
    const r = await doctor(["--config", config]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out.split("\n").filter((l) => / FAIL /.test(l))).toEqual([]);
    expect(row(r.out, "config")).toMatch(/^OK \| .*good\.json is valid; 1 services, 2 hosts in config/);
    expect(row(r.out, "host local")).toMatch(/^OK \| this machine/);
    expect(row(r.out, "host peerbox peer")).toMatch(/^OK \| http:\/\/127\.0\.0\.1:\d+\/mcp: MCP answered with \d+ tools, token accepted/);
    expect(row(r.out, "host sshbox ssh key")).toMatch(/^OK \| .*id_ed25519 readable/);
    expect(row(r.out, "host sshbox known_hosts")).toMatch(/^OK \| \[127\.0\.0\.1\]:\d+ is in .*known_hosts:1 \(ssh-ed25519\)/);
    expect(row(r.out, "host sshbox ssh login")).toMatch(new RegExp(`^OK \\| logged in as ${sshd.user}@127\\.0\\.0\\.1:${sshd.port}`));
    expect(row(r.out, "service echo")).toMatch(new RegExp(`^OK \\| command ${NODE.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} -> `));
    expect(row(r.out, "service echo env")).toMatch(/API_KEY=\*\*\*/);
    expect(r.out).not.toContain(SECRET);
    expect(r.out).not.toContain(PEER_TOKEN);
    expect(r.out).toMatch(/\d+ checks: \d+ OK, \d+ WARN, 0 FAIL/);
  }, 60_000);
});
