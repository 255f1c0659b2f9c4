import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const data = (r: CallToolResult) => (r.structuredContent ?? {}) as Record<string, unknown>;
const MIB = 1024 * 1024;

/** Pids whose command line contains the marker (this test's own processes only). */
function pgrep(marker: string): number[] {
  const r = spawnSync("pgrep", ["-f", marker], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

/** A fresh ed25519 public key line (`ssh-ed25519 AAAA...`) that is not the server's. */
function otherKey(dir: string): string {
  const file = join(dir, "other_host_key");
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "other", "-f", file], { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return readFileSync(file + ".pub", "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

describe("the hub through the built CLI: host keys, timeouts that kill, output bounds", () => {
  let dir: string;
  let sshd: Sshd;
  let hub: Herd;
  const files = { changed: "", unknown: "", acceptNew: "" };
  const call = async (name: string, args: Record<string, unknown>) =>
    (await hub.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-hub-e2e-"));
    sshd = await startSshd();
    const hostName = `[127.0.0.1]:${sshd.port}`;
    files.changed = join(dir, "known_hosts.changed");
    files.unknown = join(dir, "known_hosts.unknown");
    files.acceptNew = join(dir, "known_hosts.accept-new");
    writeFileSync(files.changed, `${hostName} ${otherKey(dir)}\n`);
    writeFileSync(files.unknown, "");
    writeFileSync(files.acceptNew, "");
    const ssh = (knownHostsFile: string, extra: Record<string, unknown> = {}) => ({ ...sshd.hostSpec(), knownHostsFile, ...extra });
    const config = join(dir, "hub.json");
    writeFileSync(
      config,
      JSON.stringify({
        hosts: [
          { name: "good", ssh: ssh(sshd.knownHostsFile) },
          { name: "changed", ssh: ssh(files.changed) },
          { name: "stranger", ssh: ssh(files.unknown) },
          { name: "trusting", ssh: ssh(files.acceptNew, { acceptNewHostKey: true }) },
        ],
      }),
    );
    hub = await startHerd({ args: ["--config", config], env: { LMCP_HUB_SSH_TIMEOUT: "5" } });
    const warm = await call("remote_shell", { host: "good", command: "echo warm" });
    expect(warm.isError, text(warm)).toBeFalsy();
  });
  afterAll(async () => {
    await hub?.close();
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a host whose key changed, saying the key changed and how to fix it", async () => {
    const before = readFileSync(files.changed, "utf8");
    const r = await call("remote_shell", { host: "changed", command: "echo must-not-run" });
    expect(r.isError).toBe(true);
    const msg = text(r);
    expect(msg).toMatch(/host key for 127\.0\.0\.1:\d+ changed/);
    expect(msg).toMatch(/man-in-the-middle/);
    expect(msg).toContain("ssh-keygen -R");
    expect(msg).not.toContain("must-not-run\n");
    expect(readFileSync(files.changed, "utf8")).toBe(before);
  });

  it("refuses an unknown host unless opted in, and says how to opt in", async () => {
    const r = await call("remote_shell", { host: "stranger", command: "echo must-not-run" });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/unknown host key for 127\.0\.0\.1:\d+/);
    expect(text(r)).toContain("acceptNewHostKey");
    expect(readFileSync(files.unknown, "utf8")).toBe("");
  });

  it("with acceptNewHostKey: true trusts the new key, records it in known_hosts and runs the command", async () => {
    const r = await call("remote_shell", { host: "trusting", command: "echo trusted" });
    expect(r.isError, text(r)).toBeFalsy();
    expect(data(r)).toMatchObject({ exit_code: 0, stdout: "trusted\n", via: "ssh" });
    expect(readFileSync(files.acceptNew, "utf8")).toBe(`[127.0.0.1]:${sshd.port} ${sshd.hostKeyPub}\n`);
  });

  it.each(["good", "local"])("remote_shell timeout 1 on a 30 s sleep on %s returns at its timeout, long before the sleep ends, killed, with no process left", async (host) => {
    const marker = `30.${Date.now() % 100000}${Math.floor(Math.random() * 1e6)}`;
    const t0 = Date.now();
    const pending = call("remote_shell", { host, command: `sleep ${marker} # herd-e2e-timeout`, timeout: 1 });
    expect(await waitFor(() => pgrep(marker).length > 0, 5_000, 50)).toBe(true);
    const r = await pending;
    const took = Date.now() - t0;
    // ~1 s expected; 10 s is a deadline against a hang, and still a third of the sleep.
    expect(took).toBeLessThan(10_000);
    expect(r.isError).toBe(true);
    expect(data(r)).toMatchObject({ timed_out: true, killed: true });
    expect(data(r).stop_unconfirmed).not.toBe(true);
    expect(text(r)).toMatch(/timed out after 1s; process group killed/);
    expect(await waitFor(() => pgrep(marker).length === 0, 5_000, 100)).toBe(true);
  });

  it.each(["good", "local"])("10 MiB of output on %s is cut at 1 MiB with the marker and truncated: true", async (host) => {
    // "é\n" is 3 bytes and 1 MiB is not a multiple of 3: a cut at exactly 1 MiB would split a character.
    const r = await call("remote_shell", { host, command: "yes é | head -c 10485760" });
    expect(r.isError, text(r).slice(0, 300)).toBeFalsy();
    const d = data(r);
    expect(d.truncated).toBe(true);
    const stdout = d.stdout as string;
    const marker = /\n\[\.\.\. output truncated: kept the first \d+( of \d+)? bytes \.\.\.\]\n$/;
    expect(stdout).toMatch(marker);
    const kept = stdout.replace(marker, "");
    expect(kept).not.toContain("\uFFFD");
    expect(/^(é\n)*é?$/.test(kept)).toBe(true);
    expect(Buffer.byteLength(kept)).toBeGreaterThan(MIB - 16);
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(MIB);
    expect(text(r)).toContain("[... output truncated");
  });
});
