import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { alive, fixture, NODE, text, until } from "../fixtures/services-helpers.js";

const herds: Herd[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
});

async function herd(opts: Parameters<typeof startHerd>[0] = {}): Promise<Herd> {
  const h = await startHerd(opts);
  herds.push(h);
  return h;
}

const echoArgs = (extra: Record<string, unknown> = {}) => ({ command: NODE, args: [fixture("echo-server.mjs")], ...extra });

function everythingBin(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve("@modelcontextprotocol/server-everything/package.json");
  const pkg = JSON.parse(readFileSync(pkgPath, "utf8")) as { bin: Record<string, string> };
  return join(dirname(pkgPath), Object.values(pkg.bin)[0]!);
}

describe("services through an MCP client of mcp-herd", () => {
  it("loads a command service, serves <name>__<tool> with list_changed, routes service_call, shows list and logs, unloads", async () => {
    const h = await herd();
    let changed = 0;
    h.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    const loaded = await h.client.callTool({ name: "service_load", arguments: { name: "echo", ...echoArgs() } });
    expect(loaded.isError, text(loaded)).toBeFalsy();
    expect(loaded.structuredContent).toMatchObject({ name: "echo", status: "running" });
    expect(await until(() => changed > 0, 5000)).toBe(true);

    const tools = (await h.client.listTools()).tools;
    const proxied = tools.find((t) => t.name === "echo__echo");
    expect(proxied?.description).toBe("[echo] Echoes its message.");
    expect(proxied?.inputSchema.properties).toHaveProperty("message");
    expect(text(await h.client.callTool({ name: "echo__echo", arguments: { message: "via proxy" } }))).toBe("via proxy");
    const add = await h.client.callTool({ name: "echo__add", arguments: { a: 1, b: 2 } });
    expect(add.structuredContent).toEqual({ sum: 3 });

    const progress: number[] = [];
    const slow = await h.client.callTool(
      { name: "service_call", arguments: { name: "echo", tool: "slow", arguments: { steps: 3, ms: 30 } } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(text(slow)).toBe("done 3");
    expect(progress).toEqual([1, 2, 3]);

    const list = await h.client.callTool({ name: "service_list", arguments: {} });
    expect((list.structuredContent as { services: { name: string; tool_count: number }[] }).services[0]).toMatchObject({ name: "echo", tool_count: 9 });
    const logs = await h.client.callTool({ name: "service_logs", arguments: { name: "echo", lines: 10 } });
    expect(text(logs)).toContain("echo-server started");

    const unloaded = await h.client.callTool({ name: "service_unload", arguments: { name: "echo" } });
    expect(unloaded.structuredContent).toEqual({ name: "echo", unloaded: true });
    expect((await h.client.listTools()).tools.some((t) => t.name.startsWith("echo__"))).toBe(false);
    const gone = await h.client.callTool({ name: "service_call", arguments: { name: "echo", tool: "echo", arguments: { message: "x" } } });
    expect(gone.isError).toBe(true);
    expect(text(gone)).toMatch(/no service named 'echo'/);
  });

  it("loads @modelcontextprotocol/server-everything by command: echo via service_call and everything__echo, progress reaches us", async () => {
    const h = await herd();
    const loaded = await h.client.callTool({ name: "service_load", arguments: { name: "everything", command: NODE, args: [everythingBin(), "stdio"] } });
    expect(loaded.isError, text(loaded)).toBeFalsy();
    const direct = await h.client.callTool({ name: "service_call", arguments: { name: "everything", tool: "echo", arguments: { message: "hello" } } });
    expect(text(direct)).toContain("hello");
    const proxied = await h.client.callTool({ name: "everything__echo", arguments: { message: "proxied" } });
    expect(text(proxied)).toContain("proxied");
    const progress: number[] = [];
    const long = await h.client.callTool(
      { name: "everything__trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(text(long)).toContain("Long running operation completed");
    expect(progress).toEqual([1, 2, 3]);
  });

  it("refuses bad input with clear errors and runs nothing", async () => {
    const h = await herd();
    for (const name of ["../x", "a b", "x".repeat(70)]) {
      const r = await h.client.callTool({ name: "service_load", arguments: { name, ...echoArgs() } });
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/service names are 1-63 characters/);
    }
    const two = await h.client.callTool({ name: "service_load", arguments: { name: "two", ...echoArgs(), url: "http://127.0.0.1:9/mcp" } });
    expect(text(two)).toMatch(/several sources given/);
    const none = await h.client.callTool({ name: "service_load", arguments: { name: "none" } });
    expect(text(none)).toMatch(/no source given/);
    const list = await h.client.callTool({ name: "service_list", arguments: {} });
    expect((list.structuredContent as { services: unknown[] }).services).toEqual([]);
  });

  it("--no-proxy-tools serves only service_call", async () => {
    const h = await herd({ args: ["--no-proxy-tools"] });
    await h.client.callTool({ name: "service_load", arguments: { name: "echo", ...echoArgs() } });
    expect((await h.client.listTools()).tools.some((t) => t.name.startsWith("echo__"))).toBe(false);
    const r = await h.client.callTool({ name: "service_call", arguments: { name: "echo", tool: "echo", arguments: { message: "m" } } });
    expect(text(r)).toBe("m");
  });
});

describe("services across mcp-herd's life", () => {
  it("no process of a child's tree outlives mcp-herd killed with SIGKILL", async () => {
    const h = await herd({ http: true });
    const pidFile = join(h.stateDir, "pids.txt");
    const r = await h.client.callTool({
      name: "service_load",
      arguments: { name: "gc", command: NODE, args: [fixture("spawns-grandchild.mjs")], env: { FIXTURE_PID_FILE: pidFile } },
    });
    expect(r.isError, text(r)).toBeFalsy();
    const pids = readFileSync(pidFile, "utf8").split("\n").filter(Boolean).map(Number);
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    h.proc!.kill("SIGKILL");
    expect(await until(() => pids.every((p) => !alive(p)), 10_000)).toBe(true);
  });

  it("SIGTERM stops every child (even one ignoring SIGTERM) and mcp-herd exits within 5 s", async () => {
    const h = await herd({ http: true, env: { MCP_HERD_KILL_GRACE_MS: "1000" } });
    const pids: number[] = [];
    for (const [name, file] of [["stubborn", "ignores-sigterm.mjs"], ["echo", "echo-server.mjs"]] as const) {
      const r = await h.client.callTool({ name: "service_load", arguments: { name, command: NODE, args: [fixture(file)] } });
      expect(r.isError, text(r)).toBeFalsy();
      pids.push((r.structuredContent as { pid: number }).pid);
    }
    const exited = new Promise<number | null>((r) => h.proc!.once("exit", (code) => r(code)));
    const t0 = Date.now();
    h.proc!.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(pids.every((p) => !alive(p))).toBe(true);
    expect(h.stderr()).not.toMatch(/shutdown took longer/);
  });

  it("remembers loaded services across a restart of mcp-herd", async () => {
    const first = await herd();
    const stateDir = first.stateDir;
    const r = await first.client.callTool({ name: "service_load", arguments: { name: "keep", ...echoArgs() } });
    expect(r.isError, text(r)).toBeFalsy();
    await first.client.close();
    const second = await herd({ stateDir });
    const running = async () => {
      const l = await second.client.callTool({ name: "service_list", arguments: {} });
      const s = (l.structuredContent as { services: { name: string; status: string }[] }).services;
      return s.some((x) => x.name === "keep" && x.status === "running");
    };
    expect(await until(running, 10_000)).toBe(true);
    expect(text(await second.client.callTool({ name: "keep__echo", arguments: { message: "again" } }))).toBe("again");
  });
});
