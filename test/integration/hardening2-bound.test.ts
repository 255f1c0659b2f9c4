import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_RESULT_BYTES } from "../../src/hosts/toolset/bound.js";
import { alive, allText, startHerd, type Herd } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const MiB = 1024 * 1024;

describe("the output bound bounds the whole result message", () => {
  let dir: string;
  let sshd: Sshd;
  let stdio: Herd;
  let http: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-bound-"));
    sshd = await startSshd();
    const config = join(dir, "hub.json");
    writeFileSync(config, JSON.stringify({ hosts: [{ name: "sshbox", ssh: sshd.hostSpec() }] }));
    stdio = await startHerd({ args: ["--config", config] });
    http = await startHerd({ args: ["--config", config], http: true });
  });
  afterAll(async () => {
    await stdio?.close();
    await http?.close();
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ["stdio", "local"],
    ["stdio", "sshbox"],
    ["http", "local"],
  ])("over %s on %s: 2 MB of NUL bytes on stdout and stderr stays under 6 MiB of JSON, says it was cut, and the connection lives on", async (transport, host) => {
    const herd = transport === "stdio" ? stdio : http;
    const r = (await herd.client.callTool(
      { name: "remote_shell", arguments: { host, command: "head -c 2000000 /dev/zero; head -c 2000000 /dev/zero >&2" } },
      undefined,
      { timeout: 60_000 },
    )) as CallToolResult;
    const wire = Buffer.byteLength(JSON.stringify({ result: r, jsonrpc: "2.0", id: 1 }));
    expect(wire).toBeLessThanOrEqual(MAX_RESULT_BYTES + 1024);
    expect(wire).toBeGreaterThan(MAX_RESULT_BYTES * 0.8);
    const sc = r.structuredContent as { stdout: string; stderr: string; truncated: boolean; exit_code: number };
    expect(sc.truncated).toBe(true);
    expect(sc.exit_code).toBe(0);
    expect(sc.stdout).toMatch(/\[\.\.\. output truncated to fit the 6\.0 MiB message bound: cut \d+ of \d+ bytes here \.\.\.\]/);
    expect(sc.stderr).toMatch(/message bound/);
    expect(sc.stdout.startsWith("\u0000")).toBe(true);
    expect(allText(r)).toMatch(/^\[rc=0\]\n\u0000/);
    expect(allText(r)).toMatch(/output truncated to fit the 6\.0 MiB message bound/);

    const after = (await herd.client.callTool({ name: "remote_shell", arguments: { host, command: "echo alive" } })) as CallToolResult;
    expect(allText(after)).toContain("alive");
    expect(alive(herd.pid)).toBe(true);
  });

  it("a fan-out over local and SSH, each printing 2 MB of NUL bytes, is one message under 6 MiB that says it was cut", async () => {
    const r = (await stdio.client.callTool(
      { name: "remote_shell", arguments: { host: "local,sshbox", command: "head -c 2000000 /dev/zero" } },
      undefined,
      { timeout: 60_000 },
    )) as CallToolResult;
    expect(Buffer.byteLength(JSON.stringify({ result: r, jsonrpc: "2.0", id: 1 }))).toBeLessThanOrEqual(MAX_RESULT_BYTES + 1024);
    const sc = r.structuredContent as { results: Array<{ host: string; stdout: string }>; ok_count: number };
    expect(sc.ok_count).toBe(2);
    expect(sc.results.map((x) => x.host).sort()).toEqual(["local", "sshbox"]);
    for (const x of sc.results) expect(x.stdout).toMatch(/output truncated to fit the 6\.0 MiB message bound/);
    expect(allText(r)).toMatch(/message bound/);
    const after = (await stdio.client.callTool({ name: "remote_shell", arguments: { host: "local", command: "echo alive" } })) as CallToolResult;
    expect(allText(after)).toContain("alive");
  });

  it("a result under the bound is untouched: 1 MiB of plain text on each stream comes back whole", async () => {
    const r = (await stdio.client.callTool(
      { name: "remote_shell", arguments: { host: "local", command: "head -c 1000000 /dev/zero | tr '\\0' a; head -c 1000000 /dev/zero | tr '\\0' b >&2" } },
      undefined,
      { timeout: 60_000 },
    )) as CallToolResult;
    const sc = r.structuredContent as { stdout: string; stderr: string; truncated: boolean };
    expect(sc.truncated).toBe(false);
    expect(sc.stdout).toBe("a".repeat(1_000_000));
    expect(sc.stderr).toBe("b".repeat(1_000_000));
    expect(Buffer.byteLength(JSON.stringify(r))).toBeGreaterThan(4 * MiB - 400_000);
  });
});
