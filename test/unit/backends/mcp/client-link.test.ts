import { describe, expect, it } from "vitest";
import { ServiceHub, mostVerbose, type ClientLink } from "../../../../src/backends/mcp/client-link.js";

/** A link that records what it was asked and answers with its own name. */
function link(session: string, caps: Record<string, unknown> | undefined, asked: string[] = [], open = { value: true }): ClientLink {
  const l: ClientLink = {
    session,
    capabilities: () => caps,
    request: async (method) => {
      asked.push(`${session}:${method}`);
      return { from: session };
    },
    idle: () => (open.value ? l : undefined),
  };
  return l;
}

const ALL = { roots: {}, sampling: {}, elicitation: { form: {}, url: {} } };
const signal = new AbortController().signal;

describe("ServiceHub: where a service's own requests go", () => {
  it("with no session at all: a JSON-RPC error naming the service and the method, at once", async () => {
    const hub = new ServiceHub("svc");
    await expect(hub.answer("sampling/createMessage", {}, signal)).rejects.toMatchObject({ code: -32601, message: expect.stringMatching(/^mcp-herd: no client session .*'svc'.*sampling\/createMessage/) });
  });

  it("one call in flight: its session; several: the most recent call; none: the last user still open", async () => {
    const hub = new ServiceHub("svc");
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const a = link("a", ALL);
    const b = link("b", ALL);
    const callA = hub.during(a, async () => {
      expect(await hub.answer("roots/list", undefined, signal)).toEqual({ from: "a" });
      await held;
    });
    const callB = hub.during(b, async () => expect(await hub.answer("roots/list", undefined, signal)).toEqual({ from: "b" }));
    await callB;
    // B's call ended: A's is the only one in flight again.
    expect(await hub.answer("roots/list", undefined, signal)).toEqual({ from: "a" });
    release();
    await callA;
    // Nothing in flight: the session that started a call last (B), while it is open.
    expect(await hub.answer("roots/list", undefined, signal)).toEqual({ from: "b" });
  });

  it("a request naming a task goes to the session that created the task, even while another session's call is newer", async () => {
    const hub = new ServiceHub("svc");
    const a = link("a", ALL);
    await hub.during(a, async () => ({ task: { taskId: "t-1", status: "working" } }));
    const meta = { _meta: { "io.modelcontextprotocol/related-task": { taskId: "t-1" } } };
    await hub.during(link("b", ALL), async () => {
      expect(await hub.answer("elicitation/create", { message: "m", ...meta }, signal)).toEqual({ from: "a" });
      expect(await hub.answer("elicitation/create", { message: "m" }, signal)).toEqual({ from: "b" });
    });
  });

  it("the last user closed and nothing in flight: an error, never a wait", async () => {
    const hub = new ServiceHub("svc");
    const open = { value: true };
    await hub.during(link("a", ALL, [], open), async () => undefined);
    open.value = false;
    await expect(hub.answer("roots/list", undefined, signal)).rejects.toThrow(/no client session/);
  });

  it.each([
    ["sampling/createMessage", {}, undefined, "sampling"],
    ["roots/list", { sampling: {} }, undefined, "roots"],
    ["elicitation/create", { sampling: {} }, { mode: "form" }, "elicitation"],
    ["elicitation/create", { elicitation: { form: {} } }, { mode: "url", url: "https://x.example" }, "elicitation.url"],
    ["elicitation/create", { elicitation: { url: {} } }, { message: "m" }, "elicitation.form"],
  ])("%s to a client with %j (params %j) is refused: no '%s' capability", async (method, caps, params, missing) => {
    const asked: string[] = [];
    const hub = new ServiceHub("svc");
    await hub.during(link("a", caps, asked), async () => {
      await expect(hub.answer(method, params as Record<string, unknown> | undefined, signal)).rejects.toThrow(`no '${missing}' capability`);
    });
    expect(asked).toEqual([]);
  });

  it("a client that declared elicitation as {} (form only, 2025-06-18) gets form requests", async () => {
    const hub = new ServiceHub("svc");
    await hub.during(link("a", { elicitation: {} }), async () => {
      expect(await hub.answer("elicitation/create", { message: "m" }, signal)).toEqual({ from: "a" });
    });
  });
});

describe("ServiceHub: log messages are bounded", () => {
  it("past 100 a second the rest are dropped and counted in one note", async () => {
    const lines: string[] = [];
    const seen: string[] = [];
    const hub = new ServiceHub("svc", (l) => lines.push(l));
    hub.onNotification((m, p) => seen.push(`${m}:${String(p?.data)}`));
    for (let i = 0; i < 1000; i++) hub.notified("notifications/message", { level: "info", data: `n${i}` });
    expect(seen.length).toBe(100);
    await new Promise((r) => setTimeout(r, 1100));
    expect(lines.at(-1)).toMatch(/dropped 900 log message\(s\) of service 'svc'/);
    expect(seen.at(-1)).toMatch(/dropped 900/);
  });
});

describe("mostVerbose", () => {
  it.each([
    [[], undefined],
    [["error"], "error"],
    [["error", "debug", "warning"], "debug"],
    [["nonsense", "notice"], "notice"],
    [["nonsense"], undefined],
  ])("%j -> %s", (levels, want) => expect(mostVerbose(levels)).toBe(want));
});
