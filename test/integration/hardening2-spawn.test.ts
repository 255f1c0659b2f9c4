import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, allText, cleanEnv, CLI, waitFor } from "../helpers/herd.js";

const CONCURRENT = 80;

describe("a failed spawn (EMFILE under ulimit -n 128) is an isError result, never a crash", () => {
  let dir: string;
  let client: Client;
  let transport: StdioClientTransport;
  let stderr = "";
  let pid: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-spawn-"));
    mkdirSync(join(dir, "pids"));
    // The probe's setup: the real server with few fds, then many concurrent commands.
    transport = new StdioClientTransport({
      command: "bash",
      args: ["-c", 'ulimit -n 128; exec "$0" "$@"', process.execPath, CLI, "--state-dir", join(dir, "state")],
      env: cleanEnv(),
      stderr: "pipe",
    });
    transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    client = new Client({ name: "h2-spawn", version: "0" });
    await client.connect(transport);
    pid = transport.pid!;
  });
  afterAll(async () => {
    await client?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it("80 concurrent remote_shell: each answers (ok or a clear EMFILE error), the server keeps serving, no command is left running", async () => {
    const pids = join(dir, "pids");
    const calls = Array.from({ length: CONCURRENT }, (_, i) =>
      client.callTool(
        { name: "remote_shell", arguments: { host: "local", command: `echo $$ > '${pids}'/${i}; sleep 1; echo ok-${i}` } },
        undefined,
        { timeout: 60_000 },
      ) as Promise<CallToolResult>,
    );
    const results = await Promise.all(calls);
    const failed = results.filter((r) => r.isError);
    const ok = results.filter((r) => !r.isError);
    expect(failed.length, "the fd limit was not reached: the test proves nothing").toBeGreaterThan(0);
    for (const r of failed) expect(allText(r)).toMatch(/EMFILE|too many open files|file descriptors left/i);
    expect(failed.some((r) => /cannot start bash: .*EMFILE.*no file descriptors left/.test(allText(r))), failed.map(allText).join("\n")).toBe(true);
    for (const r of ok) expect(allText(r)).toMatch(/^\[rc=0\]\nok-\d+/);

    expect(alive(pid), stderr).toBe(true);
    const after = (await client.callTool({ name: "remote_shell", arguments: { host: "local", command: "echo still-here" } })) as CallToolResult;
    expect(after.isError, allText(after)).toBeFalsy();
    expect(allText(after)).toContain("still-here");

    const started = readdirSync(pids).map((f) => Number(readFileSync(join(pids, f), "utf8")));
    expect(started.length).toBe(ok.length);
    expect(await waitFor(() => started.every((p) => !alive(p)), 10_000)).toBe(true);
  });
});
