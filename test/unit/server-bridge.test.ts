import type { ServerContext } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import type { ToolResult } from "../../src/backends/backend.js";
import { InputBridge } from "../../src/server-bridge.js";
import type { ToolContext } from "../../src/tools/define.js";

const CAPS = { "io.modelcontextprotocol/clientCapabilities": { sampling: {} } };

/** One round's request as the SDK hands it to a handler: its signal, the retry's state and answers. */
function round(opts: { state?: string; responses?: Record<string, unknown> } = {}): { extra: ServerContext; ctx: ToolContext; abort(): void } {
  const controller = new AbortController();
  const extra = { mcpReq: { signal: controller.signal, envelope: CAPS, requestState: () => opts.state, inputResponses: opts.responses } } as unknown as ServerContext;
  const ctx: ToolContext = { signal: controller.signal, caller: "tester", wantsProgress: false, progress: () => undefined };
  return { extra, ctx, abort: () => controller.abort() };
}

const sampleOnce = (seen: { signal?: AbortSignal; error?: string }) => async (ctx: ToolContext): Promise<ToolResult> => {
  seen.signal = ctx.signal;
  try {
    const r = await ctx.client!.request("sampling/createMessage", { messages: [] }, { signal: new AbortController().signal, timeoutMs: 60_000 });
    return { content: [{ type: "text", text: `got ${String(r.model)}` }] };
  } catch (e) {
    seen.error = (e as Error).message;
    return { content: [{ type: "text", text: seen.error }], isError: true };
  }
};

describe("InputBridge: a modern client's call across its input_required rounds", () => {
  it("a request of the call becomes the round's result; the retry answers it and nothing stays behind", async () => {
    const bridge = new InputBridge(60_000);
    const seen: { signal?: AbortSignal } = {};
    const r1 = round();
    const first = (await bridge.open("tester", "svc__t", { a: 1 }, r1.ctx, r1.extra, sampleOnce(seen)).step()) as { resultType: string; inputRequests: Record<string, { method: string }>; requestState: string };
    expect(first.resultType).toBe("input_required");
    const [key, req] = Object.entries(first.inputRequests)[0]!;
    expect(req.method).toBe("sampling/createMessage");
    expect(bridge.size()).toBe(1);
    // The first round's request ending does not end the call.
    r1.abort();
    expect(seen.signal?.aborted).toBe(false);
    const r2 = round({ state: first.requestState, responses: { [key]: { model: "m1", role: "assistant", content: { type: "text", text: "x" } } } });
    const done = (await bridge.open("tester", "svc__t", { a: 1 }, r2.ctx, r2.extra, sampleOnce({})).step()) as ToolResult;
    expect(done.content).toEqual([{ type: "text", text: "got m1" }]);
    expect(bridge.size()).toBe(0);
  });

  it("no retry within the wait: the request fails with the reason, the call is cancelled and forgotten", async () => {
    const bridge = new InputBridge(200);
    const seen: { signal?: AbortSignal; error?: string } = {};
    const r1 = round();
    const first = (await bridge.open("tester", "svc__t", {}, r1.ctx, r1.extra, sampleOnce(seen)).step()) as { requestState: string };
    await new Promise((r) => setTimeout(r, 600));
    expect(seen.error).toMatch(/did not come back with the answer to sampling\/createMessage within 0.2 s/);
    expect(seen.signal?.aborted).toBe(true);
    expect(bridge.size()).toBe(0);
    const late = round({ state: first.requestState, responses: {} });
    expect(() => bridge.open("tester", "svc__t", {}, late.ctx, late.extra, sampleOnce({}))).toThrow(/Invalid or expired requestState/);
  });

  it("another caller with the right state cannot resume the call", async () => {
    const bridge = new InputBridge(60_000);
    const r1 = round();
    const first = (await bridge.open("tester", "svc__t", {}, r1.ctx, r1.extra, sampleOnce({})).step()) as { requestState: string };
    const thief = round({ state: first.requestState, responses: {} });
    expect(() => bridge.open("someone-else", "svc__t", {}, thief.ctx, thief.extra, sampleOnce({}))).toThrow(/Invalid or expired requestState/);
    expect(bridge.size()).toBe(1);
  });

  it("a round abandoned while the call runs cancels the call and forgets it", async () => {
    const bridge = new InputBridge(60_000);
    let signal: AbortSignal | undefined;
    const r1 = round();
    const step = bridge.open("tester", "svc__t", {}, r1.ctx, r1.extra, async (ctx) => {
      signal = ctx.signal;
      await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
      return { content: [] };
    }).step();
    r1.abort();
    await expect(step).rejects.toThrow(/the client abandoned the call/);
    expect(signal?.aborted).toBe(true);
    expect(bridge.size()).toBe(0);
  });

  it("at most 256 calls wait at once: the next one's request is refused to its service, which still answers its call", async () => {
    const bridge = new InputBridge(60_000);
    for (let i = 0; i < 256; i++) {
      const r = round();
      await bridge.open("tester", "svc__t", { i }, r.ctx, r.extra, sampleOnce({})).step();
    }
    expect(bridge.size()).toBe(256);
    const seen: { error?: string } = {};
    const r = round();
    const done = (await bridge.open("tester", "svc__t", { i: "one too many" }, r.ctx, r.extra, sampleOnce(seen)).step()) as ToolResult;
    expect(done.isError).toBe(true);
    expect(seen.error).toMatch(/256 calls already wait for their clients' input; sampling\/createMessage is refused/);
    expect(bridge.size()).toBe(256);
  });

  it("a call that asks nothing answers in its first round and leaves nothing", async () => {
    const bridge = new InputBridge(60_000);
    const r1 = round();
    const done = (await bridge.open("tester", "own_tool", {}, r1.ctx, r1.extra, async () => ({ content: [{ type: "text", text: "plain" }] })).step()) as ToolResult;
    expect(done.content).toEqual([{ type: "text", text: "plain" }]);
    expect(bridge.size()).toBe(0);
  });
});
