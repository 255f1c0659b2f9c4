import { afterEach, describe, expect, it } from "vitest";
import { fixture, harness, NODE, text, until, type Harness } from "../fixtures/services-helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const echo = (env: Record<string, string> = {}) => ({ command: NODE, args: [fixture("echo-server.mjs")], env });

describe("service registry: load and call", () => {
  it("loads a command, lists its tools, routes calls and passes results through", async () => {
    h = harness();
    const info = await h.registry.load("echo", echo());
    expect(info.status).toBe("running");
    expect(info.pid).toBeGreaterThan(0);
    expect(info.tools.map((t) => t.name)).toContain("echo");
    expect(info.handshake_ms).toBeGreaterThanOrEqual(0);
    expect(text(await h.registry.call("echo", "echo", { message: "hi there" }))).toBe("hi there");
    const add = await h.registry.call("echo", "add", { a: 2, b: 3 });
    expect(add.structuredContent).toEqual({ sum: 5 });
    const fail = await h.registry.call("echo", "fail", {});
    expect(fail.isError).toBe(true);
    expect(text(fail)).toBe("it failed on purpose");
  });

  it("forwards progress and cancellation", async () => {
    h = harness();
    await h.registry.load("echo", echo());
    const seen: number[] = [];
    const r = await h.registry.call("echo", "slow", { steps: 3, ms: 30 }, { onProgress: (p) => seen.push(p.progress) });
    expect(text(r)).toBe("done 3");
    expect(seen).toEqual([1, 2, 3]);

    const ctrl = new AbortController();
    const p = h.registry.call("echo", "slow", { steps: 50, ms: 40 }, { signal: ctrl.signal });
    setTimeout(() => ctrl.abort(), 150);
    await expect(p).rejects.toThrow(/cancelled/);
    expect(await until(() => h!.registry.logs("echo", 50).some((l) => l.text.includes("slow cancelled")), 5000)).toBe(true);
    expect(text(await h.registry.call("echo", "echo", { message: "after" }))).toBe("after");
  });

  it("passes our environment minus secrets, plus env; inherit_env false gives the minimal set; env values are redacted in logs", async () => {
    process.env.MCP_HERD_TOKEN = "herd-secret-token-123456";
    process.env.SOME_TOKEN_COPY = "peer-secret-abcdef";
    process.env.HERD_TEST_PLAIN = "plain-value";
    try {
      h = harness({}, { token: "peer-secret-abcdef" });
      await h.registry.load("envy", echo({ MY_VAR: "given", FIXTURE_SECRET: "s3cr3t-value" }));
      const keys = ["MY_VAR", "MCP_HERD_TOKEN", "SOME_TOKEN_COPY", "HERD_TEST_PLAIN", "PATH"];
      const got = JSON.parse(text(await h.registry.call("envy", "env", { keys })));
      expect(got.MY_VAR).toBe("given");
      expect(got.MCP_HERD_TOKEN).toBeNull();
      expect(got.SOME_TOKEN_COPY).toBeNull();
      expect(got.HERD_TEST_PLAIN).toBe("plain-value");
      const logs = h.registry.logs("envy", 100).map((l) => l.text).join("\n");
      expect(logs).toContain("my secret is ***");
      expect(logs).not.toContain("s3cr3t-value");
      expect(JSON.stringify(h.registry.get("envy")!.info())).not.toContain("s3cr3t-value");

      await h.registry.load("minimal", { ...echo({ MY_VAR: "given" }), inherit_env: false });
      const min = JSON.parse(text(await h.registry.call("minimal", "env", { keys })));
      expect(min.HERD_TEST_PLAIN).toBeNull();
      expect(min.MY_VAR).toBe("given");
      expect(min.PATH).toBeTruthy();
    } finally {
      delete process.env.MCP_HERD_TOKEN;
      delete process.env.SOME_TOKEN_COPY;
      delete process.env.HERD_TEST_PLAIN;
    }
  });

  it("serves a plain-Python server loaded by path", async () => {
    h = harness();
    const info = await h.registry.load("py", { path: fixture("fixture-py") });
    expect(info.status).toBe("running");
    expect(text(await h.registry.call("py", "echo", { message: "x" }))).toBe("py:x");
  });

  it("serves a node server loaded by path", async () => {
    h = harness();
    const info = await h.registry.load("nodefix", { path: fixture("fixture-node") });
    expect(info.status, info.error ?? "").toBe("running");
    expect(text(await h.registry.call("nodefix", "echo", { message: "n" }))).toBe("n");
  });

  it("follows the child's tools/list_changed and tells listeners", async () => {
    h = harness();
    await h.registry.load("echo", echo());
    let changes = 0;
    h.registry.onChange(() => changes++);
    await h.registry.call("echo", "add_tool", { name: "brand_new" });
    expect(await until(() => h!.registry.get("echo")!.tools.some((t) => t.name === "brand_new"), 5000)).toBe(true);
    expect(changes).toBeGreaterThan(0);
  });
});

describe("service registry: bad input", () => {
  it.each([
    ["../x", {}],
    ["a b", {}],
    ["x".repeat(70), {}],
  ])("refuses the name %j before running anything", async (name) => {
    h = harness();
    await expect(h.registry.load(name, echo())).rejects.toThrow(/service name .* is not allowed/);
    expect(h.registry.list()).toHaveLength(0);
  });

  it("refuses two sources and none, naming the fields", async () => {
    h = harness();
    await expect(h.registry.load("two", { command: NODE, url: "http://127.0.0.1:1/mcp" })).rejects.toThrow(/several sources given \(command, url\)/);
    await expect(h.registry.load("none", {})).rejects.toThrow(/no source given/);
    await expect(h.registry.load("g", { git: "--upload-pack=touch /tmp/x" })).rejects.toThrow(/starts with '-'/);
    await expect(h.registry.load("g2", { git: "ext::sh -c touch% /tmp/pwned" })).rejects.toThrow(/ext::/);
    expect(h.registry.list()).toHaveLength(0);
  });
});
