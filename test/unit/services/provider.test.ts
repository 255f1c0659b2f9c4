import { describe, expect, it } from "vitest";
import type { ToolInfo } from "../../../src/backends/backend.js";
import type { ServiceRegistry } from "../../../src/services/registry.js";
import { serviceToolProvider } from "../../../src/tools/services.js";

function fakeRegistry(services: { name: string; state: string; tools: ToolInfo[] }[]) {
  const listeners = new Set<() => void>();
  const reg = {
    list: () => services,
    onChange: (l: () => void) => (listeners.add(l), () => listeners.delete(l)),
    call: async () => ({ content: [] }),
    fire: () => listeners.forEach((l) => l()),
  };
  return reg as unknown as ServiceRegistry & { fire(): void };
}

const tool = (name: string, description = "d"): ToolInfo => ({ name, description, inputSchema: { type: "object", properties: { x: { type: "string" } } } });

describe("proxied service tools", () => {
  it("prefixes names and descriptions, keeps the child's schema, serves running services only", () => {
    const reg = fakeRegistry([
      { name: "a", state: "running", tools: [tool("echo", "Echoes.")] },
      { name: "b", state: "restarting", tools: [tool("echo")] },
    ]);
    const list = serviceToolProvider(reg, { proxyTools: true }).list();
    expect(list.map((t) => t.name)).toEqual(["a__echo"]);
    expect(list[0]!.description).toBe("[a] Echoes.");
    expect(list[0]!.inputSchema).toEqual({ type: "object", properties: { x: { type: "string" } } });
  });

  it("skips names that are invalid after prefixing and caps descriptions at 4 kB", () => {
    const reg = fakeRegistry([
      { name: "svc", state: "running", tools: [tool("has space"), tool("x".repeat(70)), tool("dots.bad"), tool("ok", "y".repeat(10_000))] },
    ]);
    const list = serviceToolProvider(reg, { proxyTools: true }).list();
    expect(list.map((t) => t.name)).toEqual(["svc__ok"]);
    expect(list[0]!.description.length).toBeLessThanOrEqual(4096);
  });

  it("answers an unlisted <service>__<tool> of a service that is not running, and nothing else", () => {
    const reg = fakeRegistry([
      { name: "a", state: "running", tools: [tool("echo")] },
      { name: "b", state: "crashed", tools: [] },
    ]);
    const p = serviceToolProvider(reg, { proxyTools: true });
    expect(p.resolve?.("b__echo")?.name).toBe("b__echo");
    expect(p.resolve?.("a__nope")).toBeUndefined();
    expect(p.resolve?.("c__echo")).toBeUndefined();
    expect(p.resolve?.("b__")).toBeUndefined();
    expect(serviceToolProvider(reg, { proxyTools: false }).resolve?.("b__echo")).toBeUndefined();
  });

  it("serves nothing when proxyTools is off", () => {
    const reg = fakeRegistry([{ name: "a", state: "running", tools: [tool("echo")] }]);
    expect(serviceToolProvider(reg, { proxyTools: false }).list()).toEqual([]);
  });

  it("fires onChange only when the served set changes", () => {
    const services = [{ name: "a", state: "running", tools: [tool("echo")] }];
    const reg = fakeRegistry(services);
    const p = serviceToolProvider(reg, { proxyTools: true });
    let n = 0;
    const off = p.onChange(() => n++);
    reg.fire();
    expect(n).toBe(0);
    services[0]!.tools.push(tool("more"));
    reg.fire();
    expect(n).toBe(1);
    // Between two runs the last run's tools stay listed (a call says it is restarting): no change.
    services[0]!.state = "restarting";
    reg.fire();
    expect(n).toBe(1);
    expect(p.list().map((t) => t.name)).toEqual(["a__echo", "a__more"]);
    services[0]!.state = "crashed";
    reg.fire();
    expect(n).toBe(2);
    expect(p.list()).toEqual([]);
    off();
    services[0]!.state = "running";
    reg.fire();
    expect(n).toBe(2);
  });
});
