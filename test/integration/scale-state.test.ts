import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { allText, ROOT, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { listServices } from "../helpers/replicas.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");

function recorded(stateDir: string): string[] {
  const saved = JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")) as { version: number; services: Record<string, unknown> };
  expect(saved.version).toBe(1);
  return Object.keys(saved.services).sort();
}

async function statuses(herd: Herd): Promise<Record<string, string>> {
  return Object.fromEntries(Object.values(await listServices(herd)).map((s) => [s.name, s.status]));
}

async function load(herd: Herd, name: string): Promise<void> {
  const r = (await herd.client.callTool({ name: "service_load", arguments: { name, command: process.execPath, args: [ECHO] } })) as CallToolResult;
  expect(r.isError, allText(r)).toBeFalsy();
  expect(allText(r)).not.toContain("will not be restored");
}

describe("two mcp-herd processes sharing one state folder keep each other's service records", () => {
  let dir: string | undefined;
  const herds: Herd[] = [];
  afterEach(async () => {
    await Promise.all(herds.splice(0).map((h) => h.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("40 loads split across both, at once, are all recorded; an unload on A stays removed when B writes again", async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-scale-state-"));
    const state = join(dir, "state");
    const [a, b] = await Promise.all([startHerd({ stateDir: state }), startHerd({ stateDir: state })]);
    herds.push(a!, b!);
    const names = Array.from({ length: 40 }, (_, i) => `s${String(i).padStart(2, "0")}`);
    await Promise.all(names.map((n, i) => load(i % 2 === 0 ? a! : b!, n)));
    expect(recorded(state)).toEqual(names);

    const r = (await a!.client.callTool({ name: "service_unload", arguments: { name: "s00" } })) as CallToolResult;
    expect(r.isError, allText(r)).toBeFalsy();
    expect(recorded(state)).toEqual(names.slice(1));
    // B still remembers every record it read at start-up and wrote itself: none of them comes back.
    await load(b!, "extra");
    const r2 = (await b!.client.callTool({ name: "service_unload", arguments: { name: "s01" } })) as CallToolResult;
    expect(r2.isError, allText(r2)).toBeFalsy();
    expect(recorded(state)).toEqual([...names.slice(2), "extra"].sort());
    expect(a!.stderr() + b!.stderr()).not.toMatch(/state file not written|holds .*state\.json\.lock/);
  }, 120_000);

  it("a record both read at start-up and A unloads is not brought back by B's next write; a third process restores exactly the rest", async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-scale-state-"));
    const state = join(dir, "state");
    mkdirSync(state, { mode: 0o700 });
    writeFileSync(join(state, "state.json"), JSON.stringify({ version: 1, services: { shared: { command: process.execPath, args: [ECHO] } } }), { mode: 0o600 });
    const [a, b] = await Promise.all([startHerd({ stateDir: state }), startHerd({ stateDir: state })]);
    herds.push(a!, b!);
    for (const h of [a!, b!]) expect(await waitFor(async () => (await statuses(h)).shared === "running", 20_000)).toBe(true);
    await Promise.all([load(a!, "from-a"), load(b!, "from-b")]);
    expect((await a!.client.callTool({ name: "service_unload", arguments: { name: "shared" } })).isError).toBeFalsy();
    await load(b!, "late");
    expect(recorded(state)).toEqual(["from-a", "from-b", "late"]);
    await Promise.all(herds.splice(0).map((h) => h.close()));

    const c = await startHerd({ stateDir: state });
    herds.push(c);
    expect(await waitFor(async () => Object.values(await statuses(c)).filter((s) => s === "running").length === 3, 20_000)).toBe(true);
    expect(Object.keys(await statuses(c))).toEqual(["from-a", "from-b", "late"]);
  }, 120_000);
});
