import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { startPeerHerd, type PeerProc } from "../helpers/peers.js";
import { stopProc } from "../helpers/proc.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";
import { fixture, NODE, text } from "../fixtures/services-helpers.js";

const HERD_TOKEN = "herd-secret-token-7f3a9c0d1e2b4a68";
const PEER_TOKEN = "peer-secret-token-5b8e2f1a9c7d3e04";
const NAMED_TOKEN = "named-secret-token-a1b2c3d4e5f60718";
const REGISTRY_TOKEN = "registry-secret-token-0918273645";

/** Every process's command line on this machine, joined (what `ps` shows to any user). */
function allCmdlines(): string {
  let all = "";
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      all += readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ") + "\n";
    } catch {
      /* gone or not ours */
    }
  }
  return all;
}

function environOf(pid: number): string {
  return readFileSync(`/proc/${pid}/environ`, "utf8");
}

describe("secrets never leak", () => {
  let dir: string;
  let peer: PeerProc;
  let sshd: Sshd;
  let h: Herd;
  const seen: string[] = [];
  const record = (label: string, value: unknown) => seen.push(`--- ${label}\n${typeof value === "string" ? value : JSON.stringify(value)}`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-hard-secrets-"));
    peer = await startPeerHerd({ stateDir: join(dir, "peer-state"), token: PEER_TOKEN });
    sshd = await startSshd();
    const config = join(dir, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        tokens: [{ name: "alice", token: NAMED_TOKEN }],
        hosts: [
          { name: "p1", peer: { url: peer.url, token: PEER_TOKEN } },
          { name: "s1", ssh: sshd.hostSpec() },
        ],
      }),
    );
    const registry = join(dir, "hosts.txt");
    writeFileSync(registry, `r1 - http://127.0.0.1:1/mcp ${REGISTRY_TOKEN}\n`);
    h = await startHerd({ http: true, token: HERD_TOKEN, args: ["--config", config, "--hosts", registry, "--log-level", "debug"] });
  });
  afterAll(async () => {
    await h?.close();
    if (peer) await stopProc(peer.proc);
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("mcp-herd's token, named tokens and peer tokens reach no child environment, log, tool result, error message or process argv", async () => {
    const secrets = [HERD_TOKEN, PEER_TOKEN, NAMED_TOKEN, REGISTRY_TOKEN];
    // Every call is answered as a result (tool errors included); a protocol error fails the test,
    // except for the calls marked `refused`, whose JSON-RPC error message is swept too.
    const call = async (name: string, args: Record<string, unknown>, expect_: { isError?: boolean; refused?: boolean } = {}) => {
      if (expect_.refused) {
        const e = (await h.client.callTool({ name, arguments: args }).then(() => undefined, (err: Error) => err)) as Error | undefined;
        expect(e, `${name} should be refused`).toBeInstanceOf(Error);
        record(`${name} (refused)`, e!.message);
        return undefined;
      }
      const r = await h.client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 });
      record(name, r);
      if (expect_.isError !== undefined) expect(!!r.isError, `${name}: ${text(r)}`).toBe(expect_.isError);
      return r;
    };
    const loaded = await call("service_load", { name: "dump", command: NODE, args: [fixture("hardening/env-dump.mjs")] }, { isError: false });
    const dump = await call("dump__dump", {}, { isError: false });
    const childEnv = (JSON.parse(text(dump)) as { env: Record<string, string> }).env;
    expect(Object.keys(childEnv)).toContain("PATH");
    const pid = (loaded!.structuredContent as { pid: number }).pid;
    const childEnviron = environOf(pid);
    expect(childEnviron).toMatch(/(^|\0)PATH=/);
    record("child environ", childEnviron);

    // The same child, supervised by the peer mcp-herd on host p1: its environment is read there too.
    const remote = await call("service_load", { name: "peerdump", command: NODE, host: "p1", args: [fixture("hardening/env-dump.mjs")] }, { isError: false });
    const remoteDump = await call("peerdump__dump", {}, { isError: false });
    expect(Object.keys((JSON.parse(text(remoteDump)) as { env: Record<string, string> }).env)).toContain("PATH");
    const remotePid = (remote!.structuredContent as { pid?: number }).pid;
    expect(remotePid, "the peer reports its child's pid").toBeGreaterThan(0);
    const remoteEnviron = environOf(remotePid!);
    expect(remoteEnviron).toMatch(/(^|\0)PATH=/);
    record("peer-side child environ", remoteEnviron);

    const local = await call("remote_shell", { host: "local", command: "env; echo; cat /proc/$PPID/cmdline | tr '\\0' ' '" }, { isError: false });
    expect(text(local)).toMatch(/PATH=/);
    expect(text(await call("remote_shell", { host: "p1", command: "env" }, { isError: false }))).toMatch(/PATH=/);
    const overSsh = await call("remote_shell", { host: "s1", command: "env" }, { isError: false });
    expect(overSsh!.structuredContent).toMatchObject({ via: expect.stringMatching(/ssh/) });
    expect(text(overSsh)).toMatch(/PATH=/);
    await call("remote_write_file", { host: "s1", path: join(dir, "over-ssh.txt"), content: "x" }, { isError: false });
    await call("remote_shell", { host: "r1", command: "env" }, { isError: true });
    await call("remote_read_file", { host: "p1", path: join(dir, "missing") }, { isError: true });
    await call("remote_list_hosts", { force: true }, { isError: false });
    await call("herd_status", {}, { isError: false });
    await call("service_list", {}, { isError: false });
    await call("service_logs", { name: "dump", lines: 100 }, { isError: false });
    await call("service_load", { name: "bad", url: `http://user:${HERD_TOKEN}@127.0.0.1:1/mcp` }, { isError: true });
    await call("no_such_tool", {}, { refused: true });
    const resources = await h.client.listResources();
    expect(resources.resources.length).toBeGreaterThan(0);
    for (const r of resources.resources) record(r.uri, await h.client.readResource({ uri: r.uri }));
    record("herd stderr", h.stderr());
    record("all argv", allCmdlines());
    record("herd environ minus its own token", environOf(h.pid).replace(`MCP_HERD_TOKEN=${HERD_TOKEN}`, ""));
    record("peer environ minus its own token", environOf(peer.proc.pid!).replace(`MCP_HERD_TOKEN=${PEER_TOKEN}`, ""));

    const everything = seen.join("\n");
    for (const s of secrets) {
      const at = everything.indexOf(s);
      expect(at, `${s} leaked in: ${everything.slice(Math.max(0, everything.lastIndexOf("\n---", at)), at + 80)}`).toBe(-1);
    }
    // The sweep can fail: the places a secret legitimately is (each mcp-herd's own environment) are found when not removed.
    expect(environOf(h.pid)).toContain(HERD_TOKEN);
    expect(environOf(peer.proc.pid!)).toContain(PEER_TOKEN);
  });
});

describe("tool poisoning", () => {
  let h: Herd;
  beforeAll(async () => {
    h = await startHerd();
  });
  afterAll(async () => h?.close());

  it("a child advertising remote_shell, ../x, a 10 kB name and a 1 MB description cannot shadow or flood our tools", async () => {
    const before = (await h.client.listTools()).tools;
    const ours = new Map(before.map((t) => [t.name, t.description]));
    const r = await h.client.callTool({ name: "service_load", arguments: { name: "poison", command: NODE, args: [fixture("hardening/poison.mjs")] } });
    expect(r.isError, text(r)).toBeFalsy();
    const after = (await h.client.listTools()).tools;
    const names = after.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const [name, description] of ours) expect(after.find((t) => t.name === name)?.description).toBe(description);
    const added = after.filter((t) => !ours.has(t.name));
    expect(added.map((t) => t.name).sort()).toEqual(["poison__big", "poison__ok", "poison__remote_shell", "poison__service_load"]);
    for (const t of added) {
      expect(t.name).toMatch(/^[a-z0-9_-]{1,63}__[A-Za-z0-9_-]{1,64}$/);
      expect(t.description!.startsWith("[poison] ")).toBe(true);
      expect(t.description!.length).toBeLessThanOrEqual(4096);
    }
    expect(JSON.stringify(after).length).toBeLessThan(JSON.stringify(before).length + 64 * 1024);
    const real = await h.client.callTool({ name: "remote_shell", arguments: { host: "local", command: "echo ours" } });
    expect(text(real)).toContain("ours");
    expect(text(real)).not.toMatch(/poison ran/);
    const proxied = await h.client.callTool({ name: "poison__remote_shell", arguments: {} });
    expect(text(proxied)).toBe("poison ran remote_shell");
    const viaCall = await h.client.callTool({ name: "service_call", arguments: { name: "poison", tool: "../x", arguments: {} } });
    // Not served as a proxied tool (above), but service_call hands the name to the child as a plain argument: harmless.
    expect(viaCall.isError, text(viaCall)).toBeFalsy();
    expect(text(viaCall)).toBe("poison ran ../x");
  });
});
