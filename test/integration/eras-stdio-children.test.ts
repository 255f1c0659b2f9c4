import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ResourceUpdatedNotificationSchema, ToolListChangedNotificationSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, ROOT, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { listServices } from "../helpers/replicas.js";

const MODERN_CHILD = join(ROOT, "test", "fixtures", "modern-stdio-child.mjs");
const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const EXITS = join(ROOT, "test", "fixtures", "exits-before-initialize.mjs");

function lines(file: string): string[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

describe("stdio children of either era: legacy unless a service says \"protocol\": \"auto\" or \"2026-07-28\"", () => {
  let dir: string;
  let herd: Herd;
  const file = (name: string) => join(dir, `${name}.txt`);
  const call = async (name: string, args: Record<string, unknown> = {}) => (await herd.client.callTool({ name, arguments: args })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-eras-children-"));
    const modern = (name: string, protocol?: string) => ({ command: process.execPath, args: [MODERN_CHILD], env: { FIXTURE_ERA_FILE: file(name), FIXTURE_NAME: name }, ...(protocol ? { protocol } : {}) });
    const config = join(dir, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        services: {
          plain: modern("plain"),
          auto: modern("auto", "auto"),
          pinned: modern("pinned", "2026-07-28"),
          old: { command: process.execPath, args: [ECHO], protocol: "auto", env: { FIXTURE_PID_FILE: file("old") } },
          dies: { command: process.execPath, args: [EXITS], protocol: "auto", env: { FIXTURE_PID_FILE: file("dies") } },
          oldpinned: { command: process.execPath, args: [ECHO], protocol: "2026-07-28" },
        },
      }),
    );
    herd = await startHerd({ args: ["--config", config] });
    expect(
      await waitFor(async () => {
        const s = await listServices(herd);
        return ["plain", "auto", "pinned", "old", "dies"].every((n) => s[n]?.status === "running") && ["failed", "crashed"].includes(s.oldpinned?.status ?? "");
      }, 30_000),
    ).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a v2 child is spoken to in the 2025 era by default, and in 2026-07-28 when probed (auto) or pinned, one process each", async () => {
    expect(allText(await call("plain__era"))).toBe("legacy");
    expect(allText(await call("auto__era"))).toBe("modern");
    expect(allText(await call("pinned__era"))).toBe("modern");
    // The probe went to the child itself: no sibling process.
    for (const name of ["plain", "auto", "pinned"]) expect(lines(file(name)).length, name).toBe(1);
    expect(allText(await call("auto__echo", { message: "to a modern child" }))).toBe("to a modern child");
    const seen: number[] = [];
    const r = await herd.client.callTool({ name: "pinned__slow", arguments: { steps: 3, ms: 20 } }, undefined, { onprogress: (p) => void seen.push(p.progress) });
    expect(allText(r as CallToolResult)).toBe("done 3");
    expect(seen).toEqual([1, 2, 3]);
  });

  it("a modern child's tool list change reaches us on its listen stream, and our client as list_changed", async () => {
    let heard = 0;
    herd.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void heard++);
    expect(allText(await call("auto__add_tool", { name: "late" }))).toBe("added late");
    expect(await waitFor(() => heard > 0, 10_000)).toBe(true);
    expect(await waitFor(async () => (await herd.client.listTools()).tools.some((t) => t.name === "auto__late"), 10_000)).toBe(true);
    expect(allText(await call("auto__late"))).toBe("I am late");
  });

  it("our client's resources/subscribe to a modern child's resource becomes a listen stream there, and its updates reach us", async () => {
    const updated: string[] = [];
    herd.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    const read = await herd.client.readResource({ uri: "modern://auto/note" });
    expect(read.contents[0]).toMatchObject({ text: "a modern note" });
    await herd.client.subscribeResource({ uri: "modern://auto/note" });
    expect(allText(await call("auto__touch"))).toBe("touched");
    expect(await waitFor(() => updated.includes("modern://auto/note"), 10_000)).toBe(true);
    await herd.client.unsubscribeResource({ uri: "modern://auto/note" });
  });

  it("auto falls back to initialize for a 2025-only child: in the same process when it answers the probe with an error, in a second one when it exits on it", async () => {
    expect(allText(await call("old__echo", { message: "legacy child" }))).toBe("legacy child");
    expect(lines(file("old")).length).toBe(1);
    expect(allText(await call("dies__echo", { message: "after the probe" }))).toBe("after the probe");
    expect(lines(file("dies")).length).toBe(2);
  });

  it("a pinned service whose child speaks only 2025 fails to start, saying so", async () => {
    const s = (await listServices(herd)).oldpinned!;
    expect(s.error).toMatch(/2026-07-28/);
  });

  it("the verdict is kept for the restarts after a crash (no probe) and probed again at service_restart", async () => {
    const before = lines(file("dies")).length;
    await call("dies__crash").catch(() => undefined);
    expect(await waitFor(async () => (await listServices(herd)).dies?.restarts === 1 && (await listServices(herd)).dies?.status === "running", 20_000)).toBe(true);
    expect(allText(await call("dies__echo", { message: "restarted" }))).toBe("restarted");
    // One process for the restart: the cached legacy verdict skipped the probe that would have killed it.
    expect(lines(file("dies")).length).toBe(before + 1);
    const r = await call("service_restart", { name: "dies" });
    expect(r.isError, allText(r)).toBeFalsy();
    expect(allText(await call("dies__echo", { message: "re-probed" }))).toBe("re-probed");
    expect(lines(file("dies")).length).toBe(before + 3);

    const modernBefore = lines(file("auto"));
    await call("auto__crash").catch(() => undefined);
    expect(await waitFor(async () => lines(file("auto")).length > modernBefore.length && (await listServices(herd)).auto?.status === "running", 20_000)).toBe(true);
    expect(allText(await call("auto__era"))).toBe("modern");
  }, 60_000);

  it("service_load takes the era too: protocol \"2026-07-28\" speaks it to the child, a bad value is refused naming the choices, and the choice is remembered", async () => {
    const load = (name: string, protocol: unknown) =>
      herd.client.callTool({ name: "service_load", arguments: { name, command: process.execPath, args: [MODERN_CHILD], env: { FIXTURE_ERA_FILE: file(name), FIXTURE_NAME: name }, protocol } }) as Promise<CallToolResult>;
    const r = await load("loaded", "2026-07-28");
    expect(r.isError, allText(r)).toBeFalsy();
    expect(allText(await call("loaded__era"))).toBe("modern");
    const legacy = await load("loadedold", "legacy");
    expect(legacy.isError, allText(legacy)).toBeFalsy();
    expect(allText(await call("loadedold__era"))).toBe("legacy");
    const bad = await load("badera", "2027");
    expect(bad.isError).toBe(true);
    expect(allText(bad)).toMatch(/protocol/);
    expect(allText(bad)).toMatch(/legacy.*auto.*2026-07-28/s);
    expect((await listServices(herd)).badera).toBeUndefined();
    // A misspelt argument is refused, naming it and what the tool takes, not dropped unseen.
    const typo = (await herd.client.callTool({ name: "service_load", arguments: { name: "typo", command: process.execPath, args: [MODERN_CHILD], protcol: "auto" } })) as CallToolResult;
    expect(typo.isError).toBe(true);
    expect(allText(typo)).toMatch(/unknown key 'protcol'.*it takes: .*\bprotocol\b/s);
    expect((await listServices(herd)).typo).toBeUndefined();
    // The spec kept for the next start of mcp-herd holds the era.
    const kept = JSON.parse(readFileSync(join(herd.stateDir, "state.json"), "utf8")) as { services: Record<string, { protocol?: string }> };
    expect(kept.services.loaded?.protocol).toBe("2026-07-28");
    expect(kept.services.loadedold?.protocol).toBe("legacy");
    expect(allText(await call("loaded__echo", { message: "still here" }))).toBe("still here");
  });
});
