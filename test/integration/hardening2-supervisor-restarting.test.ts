import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { fixture, NODE, text, until } from "../fixtures/services-helpers.js";

// Issue 12, item 10: a proxied tool of a service that is loaded but not running answers isError
// naming the service, its state and when it is expected back — never the protocol error "Unknown tool".

const herds: Herd[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
});
const call = (client: Client, name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 });
const status = async (client: Client, name: string) =>
  ((await call(client, "service_list", { name })).structuredContent as { services: { status: string }[] }).services[0]?.status;

describe("calls to a service that is not running", () => {
  it("while it restarts: its tools stay listed and answer isError 'restarting ... next attempt in ~N s'; afterwards they work again", async () => {
    const h = await startHerd({ env: { MCP_HERD_BACKOFF_START_MS: "4000" } });
    herds.push(h);
    const loaded = await call(h.client, "service_load", { name: "echo", command: NODE, args: [fixture("echo-server.mjs")] });
    expect(loaded.isError, text(loaded)).toBeFalsy();
    expect(text(await call(h.client, "echo__echo", { message: "up" }))).toBe("up");

    const crashed = await call(h.client, "echo__crash", {});
    expect(crashed.isError).toBe(true);
    expect(await status(h.client, "echo")).toBe("restarting");
    const names = (await h.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("echo__echo");

    // A storm of calls during the restart: every one is an isError result, none a JSON-RPC error.
    const storm = await Promise.all(Array.from({ length: 50 }, () => call(h.client, "echo__echo", { message: "x" })));
    for (const r of storm) {
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/^service 'echo' is restarting after a failure \(last: exit code 3\); next attempt in ~[1-4] s\. See service_logs/);
    }
    expect(await until(async () => (await status(h.client, "echo")) === "running", 15_000)).toBe(true);
    expect(text(await call(h.client, "echo__echo", { message: "back" }))).toBe("back");
  }, 60_000);

  it("a service that failed to start: <service>__<tool> answers isError saying so; a name no service owns stays a protocol error", async () => {
    const h = await startHerd();
    herds.push(h);
    const loaded = await call(h.client, "service_load", { name: "bad", command: NODE, args: [fixture("crash-on-start.mjs")] });
    expect(loaded.isError).toBe(true);
    expect(await status(h.client, "bad")).toBe("failed");
    const r = await call(h.client, "bad__anything", { a: 1 });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^service 'bad' failed to start: .*Fix the cause, then call service_restart or service_load/s);
    await expect(call(h.client, "nobody__anything", {})).rejects.toThrow(/Unknown tool 'nobody__anything'/);
  }, 60_000);
});
