import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ResourceListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, CLI, ROOT, cleanEnv, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const CONTENT = join(ROOT, "test", "fixtures", "content-server.mjs");
const TOKEN = "eras-upstream-token-0123456789";

describe("url services of either era: protocol 'auto' probes and speaks 2026-07-28 to a server that offers it", () => {
  let dir: string;
  let far: ChildProcess;
  let base: string;
  let herd: Herd;

  const farSessions = async () => ((await (await fetch(`${base}/health`)).json()) as { sessions: number }).sessions;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-eras-up-"));
    const farConfig = join(dir, "far.json");
    writeFileSync(farConfig, JSON.stringify({ services: { echo: { command: process.execPath, args: [ECHO] }, content: { command: process.execPath, args: [CONTENT] } } }));
    far = spawn(process.execPath, [CLI, "--state-dir", join(dir, "far-state"), "--config", farConfig, "--http", "127.0.0.1:0"], {
      env: cleanEnv({ MCP_HERD_TOKEN: TOKEN }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    base = (await waitListening(far, "mcp-herd")).url.replace(/\/mcp$/, "");
    const headers = { Authorization: `Bearer ${TOKEN}` };
    // The far herd's services as url services here: one probed, one pinned to 2026-07-28, one as before (legacy).
    const config = join(dir, "near.json");
    writeFileSync(
      config,
      JSON.stringify({
        services: {
          modern: { url: `${base}/services/content/mcp`, headers, protocol: "auto" },
          pinned: { url: `${base}/services/echo/mcp`, headers, protocol: "2026-07-28" },
          legacy: { url: `${base}/services/echo/mcp`, headers },
        },
      }),
    );
    herd = await startHerd({ args: ["--config", config] });
    expect(await waitFor(async () => (await herd.client.listTools()).tools.filter((t) => /^(modern|pinned|legacy)__/.test(t.name)).length >= 3, 20_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await herd?.close();
    if (far) await stopProc(far);
    rmSync(dir, { recursive: true, force: true });
  });

  it("the probed and the pinned services are served statelessly (no session on the far side), the default one with its session", async () => {
    const names = (await herd.client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["modern__add-resource", "pinned__echo", "legacy__echo"]));
    expect(allText((await herd.client.callTool({ name: "pinned__echo", arguments: { message: "to 2026" } })) as never)).toBe("to 2026");
    expect(allText((await herd.client.callTool({ name: "legacy__echo", arguments: { message: "to 2025" } })) as never)).toBe("to 2025");
    const seen: number[] = [];
    await herd.client.callTool({ name: "pinned__slow", arguments: { steps: 2, ms: 20 } }, undefined, { onprogress: (p) => void seen.push(p.progress) });
    expect(seen).toEqual([1, 2]);
    // Only the legacy url service holds a session on the far herd.
    expect(await farSessions()).toBe(1);
  });

  it("a 2026-07-28 url service's list change reaches this herd on a listen stream, and its client as list_changed", async () => {
    let heard = 0;
    herd.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void heard++);
    await herd.client.callTool({ name: "modern__add-resource", arguments: {} });
    expect(await waitFor(() => heard > 0, 10_000)).toBe(true);
    expect(await waitFor(async () => (await herd.client.listResources()).resources.some((r) => r.uri === "fixture://added/1"), 10_000)).toBe(true);
    const read = await herd.client.readResource({ uri: "fixture://added/1" });
    expect(read.contents[0]).toMatchObject({ text: "added 1" });
  });

  it("a url service's tools list change, in either era, makes this herd list its tools again", async () => {
    // Both url services reach the far herd's one echo child: a tool it adds is announced to each.
    expect(allText((await herd.client.callTool({ name: "legacy__add_tool", arguments: { name: "grown" } })) as never)).toBe("added");
    expect(
      await waitFor(async () => {
        const names = (await herd.client.listTools()).tools.map((t) => t.name);
        return names.includes("legacy__grown") && names.includes("pinned__grown");
      }, 15_000),
    ).toBe(true);
  });
});

describe("a host's mcp-herd peer with protocol '2026-07-28': remote_* tools over the modern era", () => {
  let dir: string;
  let peer: Herd;
  let hub: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-eras-peer-"));
    peer = await startHerd({ http: true, token: TOKEN, args: ["--peer"], env: { HOME: dir } });
    const config = join(dir, "hub.json");
    writeFileSync(config, JSON.stringify({ hosts: [{ name: "box", peer: { url: peer.url, token: TOKEN, protocol: "2026-07-28" } }] }));
    hub = await startHerd({ args: ["--config", config], env: { LMCP_HUB_BACKENDS: "" } });
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    await peer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs a command on the host through its peer, without a session there", async () => {
    const before = ((await (await fetch(`${peer.base}/health`)).json()) as { sessions: number }).sessions;
    const r = (await hub.client.callTool({ name: "remote_shell", arguments: { host: "box", command: "echo modern peer" } })) as { content: Array<{ text?: string }>; isError?: boolean; structuredContent?: { via?: string } };
    expect(r.isError, allText(r as never)).toBeFalsy();
    expect(allText(r as never)).toContain("modern peer");
    expect(r.structuredContent?.via).toBe("peer");
    // The test's own 1.x client holds the one session; the hub's modern link adds none.
    expect(((await (await fetch(`${peer.base}/health`)).json()) as { sessions: number }).sessions).toBe(before);
  });
});
