import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, startHerd, type Herd } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

type Data = Record<string, unknown>;
type Row = { host: string; ok: boolean; status: string; via?: string; exit_code?: number | null; stdout?: string; content?: string; error?: string; duration_ms: number };
const data = (r: CallToolResult) => (r.structuredContent ?? {}) as Data;
const rows = (r: CallToolResult) => (data(r).results ?? []) as Row[];

describe("fan-out over 3 real sshd, local and a stopped sshd: lists, globs, groups, folded output", () => {
  let dir: string;
  const sshds: Sshd[] = [];
  let hub: Herd;
  let silent: net.Server;
  const call = async (name: string, args: Data) =>
    (await hub.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-fanout-"));
    for (let i = 0; i < 4; i++) sshds.push(await startSshd());
    await sshds[3]!.stop({ keepFiles: true });
    // Accepts TCP and never speaks: only the SSH connect timeout ends a call to it.
    silent = net.createServer((sock) => sock.on("error", () => {}));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const ssh = (s: Sshd) => ({ host: "127.0.0.1", port: s.port, user: s.user, identityFile: s.identityFile, knownHostsFile: s.knownHostsFile });
    const config = join(dir, "hub.json");
    writeFileSync(
      config,
      JSON.stringify({
        hosts: [
          { name: "web-1", ssh: ssh(sshds[0]!) },
          { name: "web-2", ssh: ssh(sshds[1]!) },
          { name: "db-1", ssh: ssh(sshds[2]!) },
          { name: "web-down", ssh: ssh(sshds[3]!) },
          { name: "hang-1", ssh: { ...ssh(sshds[3]!), port: silentPort } },
        ],
        groups: { web: ["web-1", "web-2"], fleet: ["web-*", "db-1", "local"], broken: ["web-1", "nope"] },
      }),
    );
    hub = await startHerd({ args: ["--config", config], env: { LMCP_HUB_SSH_TIMEOUT: "3" } });
  });
  afterAll(async () => {
    await hub?.close();
    for (const s of sshds) await s.stop();
    silent?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs on every host in parallel: all results, the stopped sshd down, the live hosts running at the same time", async () => {
    // A rendezvous: each live host (all on this machine) leaves a file and waits, up to 30 s, for all four; it says
    // same-everywhere only if the others ran meanwhile. Run one after another, the first would wait alone and say so.
    const meet = join(dir, "meet");
    const command = `mkdir -p '${meet}'; touch '${meet}'/$$; i=0; while [ $(ls '${meet}' | wc -l) -lt 4 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; [ $(ls '${meet}' | wc -l) -ge 4 ] && echo same-everywhere || echo alone`;
    const t0 = Date.now();
    const r = await call("remote_shell", { host: "*", command });
    const took = Date.now() - t0;
    const byHost = Object.fromEntries(rows(r).map((x) => [x.host, x]));
    expect(Object.keys(byHost).sort()).toEqual(["db-1", "hang-1", "local", "web-1", "web-2", "web-down"]);
    for (const h of ["db-1", "local", "web-1", "web-2"]) expect(byHost[h], h).toMatchObject({ ok: true, status: "ok", exit_code: 0, stdout: "same-everywhere\n" });
    expect(byHost["web-down"]).toMatchObject({ ok: false, status: "down" });
    expect(byHost["web-down"]!.error).toMatch(/ssh/i);
    expect(byHost["hang-1"]).toMatchObject({ ok: false, status: "down" });
    expect(byHost["web-1"]!.via).toBe("ssh");
    expect(byHost.local!.via).toBe("local");
    // ~3 s expected (the silent host's connect timeout): 30 s is a deadline against a hang, not a speed claim.
    expect(took).toBeLessThan(30_000);
    expect(data(r)).toMatchObject({ summary: "4 ok, 0 failed, 2 down", host_count: 6, ok_count: 4, down_count: 2, worst_exit_code: 0 });
    const t = text(r);
    expect(t.split("\n")[0]).toBe("4 ok, 0 failed, 2 down (6 hosts)");
    expect(t.split("\n")[1]).toBe("worst exit status: 0");
    expect(t).toContain("db-1,local,web-1,web-2 [rc=0]");
    expect(t.match(/same-everywhere/g)).toHaveLength(1);
    expect(t).toContain("web-down DOWN");
    expect(r.isError).toBe(true);
  });

  it("keeps distinct outputs apart, reports failures and the worst exit status", async () => {
    const r = await call("remote_shell", { host: "web-1,web-2,db-1,local", command: 'echo "port=${SSH_CONNECTION##* }"; [ -n "$SSH_CONNECTION" ] && exit 3; exit 0' });
    expect(data(r)).toMatchObject({ summary: "1 ok, 3 failed, 0 down", worst_exit_code: 3 });
    const ports = rows(r).map((x) => x.stdout);
    expect(new Set(ports).size).toBe(4);
    expect(rows(r).find((x) => x.host === "web-2")!.stdout).toBe(`port=${sshds[1]!.port}\n`);
    expect(text(r).split("\n")[1]).toBe("worst exit status: 3");
    expect(text(r)).toContain("web-1 [rc=3] failed");
  });

  it("takes groups and globs; a group naming an unknown host is a clear error", async () => {
    const g = await call("remote_shell", { host: "web", command: "echo hi" });
    expect(rows(g).map((x) => x.host)).toEqual(["web-1", "web-2"]);
    const glob = await call("remote_read_file", { host: "web-[12],local", path: join(dir, "hub.json") });
    expect(rows(glob).map((x) => x.host)).toEqual(["web-1", "web-2", "local"]);
    expect(rows(glob).every((x) => x.ok && (x.content ?? "").includes('"groups"'))).toBe(true);
    expect(text(glob)).toContain("web-1,web-2,local ok");
    const fleet = await call("remote_shell", { host: "fleet", command: "true" });
    expect(rows(fleet).map((x) => x.host).sort()).toEqual(["db-1", "local", "web-1", "web-2", "web-down"]);
    const bad = await call("remote_shell", { host: "broken", command: "true" });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/group 'broken' names 'nope', which is no host/);
    const none = await call("remote_shell", { host: "mail-*", command: "true" });
    expect(text(none)).toMatch(/no host matches 'mail-\*'/);
    const listed = await call("remote_list_hosts", { host: "web" });
    expect((data(listed).hosts as Array<{ name: string }>).map((h) => h.name)).toEqual(["web-1", "web-2"]);
    expect(JSON.stringify(data(listed).problems)).toContain("group 'broken'");
    const single = await call("remote_write_file", { host: "web", path: join(dir, "x"), content: "x" });
    expect(text(single)).toMatch(/runs on one host/);
  });

  it("keeps a single-host call's result as before", async () => {
    const r = await call("remote_shell", { host: "web-1", command: "echo one" });
    expect(r.isError).toBeFalsy();
    expect(text(r)).toBe("[rc=0]\none\n");
    expect(data(r)).toMatchObject({ exit_code: 0, stdout: "one\n", via: "ssh" });
    expect(data(r).results).toBeUndefined();
  });
});
