import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { fixture, NODE, text, until } from "../fixtures/services-helpers.js";

const herds: Herd[] = [];
afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
});

/** Supervisor timings for tests, through the CLI's environment knobs. */
const FAST_ENV = {
  MCP_HERD_PING_INTERVAL_MS: "200",
  MCP_HERD_PING_TIMEOUT_MS: "400",
  MCP_HERD_BACKOFF_START_MS: "50",
  MCP_HERD_KILL_GRACE_MS: "500",
  MCP_HERD_HANDSHAKE_MS: "8000",
};

async function herd(opts: Parameters<typeof startHerd>[0] = {}): Promise<Herd> {
  const h = await startHerd({ ...opts, env: { ...FAST_ENV, ...(opts.env ?? {}) } });
  herds.push(h);
  return h;
}

interface LogMessage {
  level: string;
  logger?: string;
  data: { message: string; [k: string]: unknown };
}

function collectLogs(h: Herd): LogMessage[] {
  const out: LogMessage[] = [];
  h.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void out.push(n.params as unknown as LogMessage));
  return out;
}

const node = (name: string, file: string, env?: Record<string, string>) => ({ name, command: NODE, args: [fixture(file)], ...(env ? { env } : {}) });

async function call(h: Herd, name: string, args: Record<string, unknown>) {
  return h.client.callTool({ name, arguments: args });
}

async function status(h: Herd, name: string): Promise<{ status: string; restarts: number; error: string | null; last_exit: { reason: string } | null }> {
  const r = await call(h, "service_list", { name });
  return (r.structuredContent as { services: never[] }).services[0]!;
}

async function otherStillAnswers(h: Herd): Promise<void> {
  expect(text(await call(h, "other__echo", { message: "still here" }))).toBe("still here");
}

describe("supervisor faults through an MCP client of mcp-herd", () => {
  it("crash mid-call, hang, garbage stdout, exit during initialize, missing binary and a crash loop: clear results, events, others unaffected", async () => {
    const h = await herd();
    const logs = collectLogs(h);
    expect((await call(h, "service_load", node("other", "echo-server.mjs"))).isError).toBeFalsy();

    // A crash mid-call fails the call at once with the exit code and the stderr tail, then the service comes back.
    await call(h, "service_load", node("svc", "echo-server.mjs"));
    const t0 = Date.now();
    const crashed = await call(h, "service_call", { name: "svc", tool: "crash", timeout_ms: 20_000 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(crashed.isError).toBe(true);
    expect(text(crashed)).toMatch(/service 'svc' exited \(exit code 3\)/);
    expect(text(crashed)).toContain("fixture-crash-marker");
    expect(await until(() => logs.some((m) => m.logger === "service:svc" && m.level === "warning" && /crashed: exited \(exit code 3\)/.test(m.data.message)), 5_000)).toBe(true);
    const crashEvent = logs.find((m) => m.logger === "service:svc" && m.level === "warning")!;
    expect(crashEvent.data).toMatchObject({ service: "svc", exit_code: 3 });
    expect(String(crashEvent.data.last_stderr)).toContain("fixture-crash-marker");
    expect(logs.some((m) => m.logger === "service:svc" && /^restarting in \d+ ms$/.test(m.data.message))).toBe(true);
    expect(await until(async () => (await status(h, "svc")).status === "running", 10_000)).toBe(true);
    expect(text(await call(h, "svc__echo", { message: "back" }))).toBe("back");
    await otherStillAnswers(h);

    // A hung child (no answer to pings) is killed and restarted.
    await call(h, "service_load", node("hang", "hangs-on-call.mjs"));
    expect(text(await call(h, "hang__hang", {}))).toContain("hanging");
    expect(await until(async () => {
      const s = await status(h, "hang");
      return s.restarts >= 1 && s.status === "running";
    }, 10_000)).toBe(true);
    expect((await status(h, "hang")).last_exit?.reason).toMatch(/hung/);
    await otherStillAnswers(h);

    // Garbage and a 1 MiB line on stdout end up in the logs; the server keeps serving.
    await call(h, "service_load", node("garbage", "garbage-stdout.mjs"));
    expect(text(await call(h, "garbage__echo", {}))).toBe("still fine");
    const glogs = await call(h, "service_logs", { name: "garbage", lines: 1000 });
    const lines = (glogs.structuredContent as { lines: { stream: string; text: string }[] }).lines;
    expect(lines.some((l) => l.stream === "stdout" && l.text === "hello from garbage-stdout")).toBe(true);
    expect(lines.some((l) => l.stream === "stdout" && l.text.startsWith("{not json"))).toBe(true);
    expect(lines.find((l) => l.text.startsWith("xxxx"))?.text).toMatch(/truncated/);
    await otherStillAnswers(h);

    // Exit during initialize: failed, with the exit code and its stderr, and an error event.
    const exits = await call(h, "service_load", node("exits", "exits-during-initialize.mjs"));
    expect(exits.isError).toBe(true);
    expect(text(exits)).toMatch(/^service_load 'exits' failed: service 'exits' exited \(exit code 4\) during initialize/);
    expect(text(exits)).toContain("got initialize, exiting");
    const failed = await status(h, "exits");
    expect(failed.status).toBe("failed");
    expect(logs.some((m) => m.logger === "service:exits" && m.level === "error" && /failed to start/.test(m.data.message))).toBe(true);
    const listed = text(await call(h, "service_list", { name: "exits" }));
    expect(listed).toMatch(/next: read service_logs \{ name: "exits" \}, fix the cause, then service_restart or service_load/);
    await otherStillAnswers(h);

    // A missing binary: failed at once, saying so.
    const missing = await call(h, "service_load", { name: "missing", command: "/nonexistent/bin/mcp-nothing" });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toMatch(/cannot start '\/nonexistent\/bin\/mcp-nothing': command not found \(check the path or PATH\)/);
    const refused = await call(h, "service_call", { name: "missing", tool: "echo" });
    expect(text(refused)).toMatch(/service 'missing' failed to start: .*Fix the cause, then call service_restart or service_load/s);
    await otherStillAnswers(h);

    // A crash loop ends in `crashed`: no more restarts until service_restart.
    await call(h, "service_load", node("loop", "echo-server.mjs", { FIXTURE_EXIT_AFTER_MS: "150" }));
    expect(await until(async () => (await status(h, "loop")).status === "crashed", 20_000)).toBe(true);
    expect((await status(h, "loop")).error).toMatch(/6 failures within 120 s, last: exited \(exit code 7\); restarts stopped/);
    const gaveUp = logs.find((m) => m.logger === "service:loop" && m.level === "error");
    expect(gaveUp?.data.message).toMatch(/^gave up: 6 failures/);
    expect((await h.client.listTools()).tools.some((t) => t.name.startsWith("loop__"))).toBe(false);
    const viaCall = await call(h, "service_call", { name: "loop", tool: "echo", arguments: { message: "x" } });
    expect(text(viaCall)).toMatch(/service 'loop' is crashed: .*See service_logs, then call service_restart/s);
    await otherStillAnswers(h);
  }, 60_000);

  it("service events reach the client as notifications/message, and logging/setLevel error filters out info events", async () => {
    const h = await herd();
    const logs = collectLogs(h);
    await call(h, "service_load", node("a", "echo-server.mjs"));
    const started = logs.find((m) => m.logger === "service:a");
    expect(started).toMatchObject({ level: "info", data: { service: "a", tools: 9 } });
    expect(started!.data.message).toMatch(/^started: pid \d+, 9 tool\(s\), handshake \d+ ms$/);

    await call(h, "service_load", node("c", "echo-server.mjs"));
    await call(h, "service_unload", { name: "c" });
    expect(logs.filter((m) => m.logger === "service:c").map((m) => [m.level, m.data.message.replace(/\d+/g, "N")])).toEqual([
      ["info", "started: pid N, N tool(s), handshake N ms"],
      ["info", "unloaded"],
    ]);

    await h.client.setLoggingLevel("error");
    await call(h, "service_load", node("b", "echo-server.mjs"));
    await call(h, "service_load", { name: "broken", command: "/nonexistent/bin/mcp-nothing" });
    expect(logs.some((m) => m.logger === "service:broken" && m.level === "error")).toBe(true);
    expect(logs.some((m) => m.logger === "service:b")).toBe(false);
    await call(h, "service_unload", { name: "a" });
    expect(logs.filter((m) => m.logger === "service:a")).toHaveLength(1);
  });
});

describe("service sources and tool search through an MCP client of mcp-herd", () => {
  it("loads @modelcontextprotocol/server-everything by npm spec: progress phases, echo both ways, its own progress, cached on the second load", async () => {
    const h = await herd();
    const phases: string[] = [];
    const spec = { name: "everything", npm: "@modelcontextprotocol/server-everything" };
    const loaded = await h.client.callTool({ name: "service_load", arguments: spec }, undefined, {
      timeout: 180_000,
      resetTimeoutOnProgress: true,
      onprogress: (p) => void phases.push(p.message ?? ""),
    });
    expect(loaded.isError, text(loaded)).toBeFalsy();
    const info = loaded.structuredContent as { status: string; install_ms: number; tool_count: number; source: string };
    expect(info).toMatchObject({ status: "running", source: "npm" });
    expect(info.install_ms).toBeGreaterThan(0);
    expect(phases[0]).toBe("resolving: npm");
    for (const re of [/^installing: /, /^starting: /, /^handshake: /, new RegExp(`^running: ${info.tool_count} tool\\(s\\)$`)]) {
      expect(phases.some((p) => re.test(p)), `${re} in ${phases.join(" | ")}`).toBe(true);
    }

    expect(text(await call(h, "service_call", { name: "everything", tool: "echo", arguments: { message: "hello" } }))).toContain("hello");
    expect(text(await call(h, "everything__echo", { message: "proxied" }))).toContain("proxied");
    const progress: number[] = [];
    const long = await h.client.callTool(
      { name: "everything__trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } },
      undefined,
      { onprogress: (p) => void progress.push(p.progress) },
    );
    expect(text(long)).toContain("Long running operation completed");
    expect(progress).toEqual([1, 2, 3]);

    const again = await call(h, "service_load", spec);
    expect(again.isError, text(again)).toBeFalsy();
    // The second load reuses the cache instead of installing again (its detail says so): no speed is claimed.
    expect((again.structuredContent as { detail?: string }).detail).toMatch(/\(cached in /);
    expect(text(await call(h, "everything__echo", { message: "cached" }))).toContain("cached");
  }, 180_000);

  it("loads the node and the plain-Python fixture folders by path, and service_tools finds their tools with schemas", async () => {
    const h = await herd({ args: ["--no-proxy-tools"] });
    for (const [name, dir] of [["nodefix", "fixture-node"], ["pyfix", "fixture-py"]] as const) {
      const r = await call(h, "service_load", { name, path: fixture(dir) });
      expect(r.isError, text(r)).toBeFalsy();
      expect(text(r)).toContain(`call: service_call { name: "${name}", tool, arguments }`);
    }
    expect(text(await call(h, "service_call", { name: "nodefix", tool: "echo", arguments: { message: "n" } }))).toBe("n");
    expect(text(await call(h, "service_call", { name: "pyfix", tool: "echo", arguments: { message: "p" } }))).toBe("py:p");

    const found = await call(h, "service_tools", { query: "echoes message" });
    const tools = (found.structuredContent as { total: number; tools: { service: string; tool: string; host: string; input_schema: { properties: object } }[] }).tools;
    expect(tools.map((t) => `${t.service}/${t.tool}`).sort()).toEqual(["nodefix/echo", "pyfix/echo"]);
    expect(tools.every((t) => t.host === "local" && "message" in t.input_schema.properties)).toBe(true);
    expect(text(found)).toMatch(/^2 tool\(s\) matching "echoes message"; call one with service_call/);
    expect(text(found)).toContain("pyfix / echo(message): Echoes its message.");

    const one = await call(h, "service_tools", { name: "nodefix", limit: 2 });
    expect((one.structuredContent as { total: number; tools: unknown[] }).tools).toHaveLength(2);
    expect(text(one)).toMatch(/more; raise limit or narrow the query/);
    const none = await call(h, "service_tools", { query: "no-such-words-anywhere" });
    expect(none.structuredContent).toEqual({ total: 0, tools: [] });
    const unknown = await call(h, "service_tools", { name: "nope" });
    expect(unknown.isError).toBe(true);
  });
});
