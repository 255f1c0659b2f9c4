import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, startHerd, type Herd } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";


describe("fan-out progress through the built CLI: hosts done / total", () => {
  let dir: string;
  const sshds: Sshd[] = [];
  let hub: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-fanout-progress-"));
    for (let i = 0; i < 2; i++) sshds.push(await startSshd());
    const ssh = (s: Sshd) => ({ host: "127.0.0.1", port: s.port, user: s.user, identityFile: s.identityFile, knownHostsFile: s.knownHostsFile });
    const config = join(dir, "hub.json");
    writeFileSync(config, JSON.stringify({ hosts: [{ name: "s1", ssh: ssh(sshds[0]!) }, { name: "s2", ssh: ssh(sshds[1]!) }] }));
    hub = await startHerd({ args: ["--config", config] });
  });
  afterAll(async () => {
    await hub?.close();
    for (const s of sshds) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a fan-out over local and 2 sshd reports each host done as progress k/N, increasing, the last equal to the total", async () => {
    const seen: Progress[] = [];
    const r = (await hub.client.callTool(
      { name: "remote_shell", arguments: { host: "local,s1,s2", command: "for i in 1 2; do echo line-$i; sleep 1; done" } },
      undefined,
      { timeout: 60_000, onprogress: (p) => seen.push(p) },
    )) as CallToolResult;
    expect(r.isError, text(r)).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ host_count: 3, ok_count: 3 });
    const done = seen.filter((p) => / done \(\d+\/3\)/.test(p.message ?? ""));
    expect(done.map((p) => p.message!.replace(/^\S+ /, ""))).toEqual(["done (1/3)", "done (2/3)", "done (3/3)"]);
    expect(done.map((p) => p.message!.split(" ")[0]).sort()).toEqual(["local", "s1", "s2"]);
    expect(done.map((p) => p.progress)).toEqual([1, 2, 3]);
    expect(seen.every((p) => p.total === 3)).toBe(true);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress);
    expect(seen.at(-1)).toMatchObject({ progress: 3, total: 3 });
    expect(seen.some((p) => /^\[(local|s1|s2)\] .*line-2/.test(p.message ?? ""))).toBe(true);
  });
});
