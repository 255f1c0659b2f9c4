import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ResourceUpdatedNotificationSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, CLI, ROOT, cleanEnv, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const SUBSCRIBE = join(ROOT, "test", "fixtures", "subscribe-server.mjs");
const TOKEN = "eras-upstream-res-token-0123456789";

describe("a 2026-07-28 url service's resources: a subscription here is a listen stream there", () => {
  let dir: string;
  let far: ChildProcess;
  let herd: Herd;
  const call = async (name: string, args: Record<string, unknown> = {}) => allText((await herd.client.callTool({ name, arguments: args })) as CallToolResult);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-eras-up-res-"));
    const farConfig = join(dir, "far.json");
    writeFileSync(farConfig, JSON.stringify({ services: { sub: { command: process.execPath, args: [SUBSCRIBE] } } }));
    far = spawn(process.execPath, [CLI, "--state-dir", join(dir, "far-state"), "--config", farConfig, "--http", "127.0.0.1:0"], {
      env: cleanEnv({ MCP_HERD_TOKEN: TOKEN }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const url = (await waitListening(far, "mcp-herd")).url;
    // The far mcp-herd's aggregated /mcp, spoken to in 2026-07-28: its services' resources come with it.
    const config = join(dir, "near.json");
    writeFileSync(config, JSON.stringify({ services: { far: { url, headers: { Authorization: `Bearer ${TOKEN}` }, protocol: "2026-07-28" } } }));
    herd = await startHerd({ args: ["--config", config] });
    expect(await waitFor(async () => (await herd.client.listTools()).tools.some((t) => t.name === "far__sub__touch"), 30_000)).toBe(true);
    expect(await waitFor(async () => (await herd.client.listResources()).resources.some((r) => r.uri === "sub://a"), 10_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await herd?.close();
    if (far) await stopProc(far);
    rmSync(dir, { recursive: true, force: true });
  });

  it("subscribing here opens a listen stream on the far side, which subscribes at its child; updates come back; unsubscribing closes it", async () => {
    const updated: string[] = [];
    herd.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    expect(await call("far__sub__subscribed")).toBe("");
    await herd.client.subscribeResource({ uri: "sub://a" });
    expect(await waitFor(async () => (await call("far__sub__subscribed")) === "sub://a", 10_000)).toBe(true);
    expect(await call("far__sub__touch", { uri: "sub://a" })).toBe("updated: sub://a");
    expect(await waitFor(() => updated.includes("sub://a"), 10_000)).toBe(true);
    await herd.client.unsubscribeResource({ uri: "sub://a" });
    expect(await waitFor(async () => (await call("far__sub__subscribed")) === "", 10_000)).toBe(true);
  });
});
