import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { allText, ROOT, startHerd, type Herd } from "../helpers/herd.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");

describe("an unreadable state file is backed up, never silently overwritten", () => {
  let dir: string | undefined;
  let herd: Herd | undefined;
  afterEach(async () => {
    await herd?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    herd = dir = undefined;
  });

  // A record this process cannot read may be another process's (a newer mcp-herd sharing the folder): a save keeps it.
  it.each([
    ["corrupt JSON", '{"version": 1, "services": {"mine": {"command": "x"}, TRUNCATED', { echo: true }],
    ["an entry that is no longer valid", JSON.stringify({ version: 1, services: { mine: { command: 42 } } }), { mine: { command: 42 }, echo: true }],
  ])("%s: a copy is kept beside it with a clear message, and a later save does not touch the copy", async (_what, body, after) => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-state-"));
    const state = join(dir, "state");
    mkdirSync(state, { mode: 0o700 });
    writeFileSync(join(state, "state.json"), body, { mode: 0o600 });
    herd = await startHerd({ stateDir: state });
    const backups = readdirSync(state).filter((f) => f.startsWith("state.json.bad-"));
    expect(backups.length).toBe(1);
    const backup = join(state, backups[0]!);
    expect(readFileSync(backup, "utf8")).toBe(body);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(herd.stderr()).toContain(`the file is kept as ${backup}; fix it and move it back to restore those services`);

    const r = (await herd.client.callTool({ name: "service_load", arguments: { name: "echo", command: process.execPath, args: [ECHO] } })) as CallToolResult;
    expect(r.isError, allText(r)).toBeFalsy();
    const saved = JSON.parse(readFileSync(join(state, "state.json"), "utf8")) as { services: Record<string, unknown> };
    expect(Object.keys(saved.services).sort()).toEqual(Object.keys(after).sort());
    if ("mine" in after) expect(saved.services.mine).toEqual(after.mine);
    expect(readdirSync(state).filter((f) => f.startsWith("state.json.bad-")).length).toBe(1);
    expect(readFileSync(backup, "utf8")).toBe(body);
  });
});

describe("a state file that cannot be written is said in service_load's result", () => {
  let dir: string | undefined;
  let herd: Herd | undefined;
  afterEach(async () => {
    await herd?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    herd = dir = undefined;
  });

  it("service_load succeeds, and its result says the service will not be restored after a restart, and why", async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-state-ro-"));
    const state = join(dir, "state");
    // A folder where state.json should be: the rename that writes it fails (root ignores permission bits).
    mkdirSync(join(state, "state.json", "occupied"), { recursive: true });
    herd = await startHerd({ stateDir: state });
    const r = (await herd.client.callTool({ name: "service_load", arguments: { name: "echo", command: process.execPath, args: [ECHO] } })) as CallToolResult;
    expect(r.isError, allText(r)).toBeFalsy();
    expect(allText(r)).toMatch(/WARNING: it is running but will not be restored after mcp-herd restarts \(state file not written in .*: .*(EISDIR|ENOTEMPTY|EEXIST)/);
    expect((r.structuredContent as { state_error?: string; status: string }).state_error).toMatch(/state file not written/);
    expect((r.structuredContent as { status: string }).status).toBe("running");
  });
});
