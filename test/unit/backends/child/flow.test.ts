import type { JSONRPCMessage } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { DEFAULT_FLOW, InboundFlow } from "../../../../src/backends/child/flow.js";

type Raw = Record<string, unknown>;
const turn = () => new Promise<void>((r) => setImmediate(r));
const progress = (token: number, n: number): Raw => ({ jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: token, progress: n } });
const log = (n: number): Raw => ({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: `l${n}` } });
const request = (id: number, token?: number) =>
  ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "t", ...(token === undefined ? {} : { _meta: { progressToken: token } }) } }) as JSONRPCMessage;
const response = (id: number): Raw => ({ jsonrpc: "2.0", id, result: {} });

function flow(limits = DEFAULT_FLOW) {
  const got: Raw[] = [];
  const notes: string[] = [];
  const f = new InboundFlow((m) => got.push(m), (t) => notes.push(t), limits);
  return { f, got, notes };
}

describe("notification flow from a child", () => {
  it("coalesces a progress flood to a burst plus the latest, delivered before the call's result, one turn ahead of it", async () => {
    const { f, got } = flow();
    f.sent(request(1, 7));
    for (let n = 0; n < 1000; n++) f.push(progress(7, n), 60);
    f.push(response(1), 30);
    const before = got.length;
    expect(got.filter((m) => m.id === 1)).toEqual([]);
    await turn();
    expect(got.length).toBe(before + 1);
    expect(got.at(-1)).toEqual(response(1));
    const seen = got.filter((m) => m.method === "notifications/progress").map((m) => (m.params as { progress: number }).progress);
    expect(seen).toEqual([...Array.from({ length: DEFAULT_FLOW.progressBurst }, (_, i) => i), 999]);
  });

  it("drops progress for a token no request of ours carries, and after its request was answered", async () => {
    const { f, got } = flow();
    f.push(progress(99, 1), 60);
    f.sent(request(2, 8));
    f.push(response(2), 30);
    f.push(progress(8, 1), 60);
    await turn();
    expect(got).toEqual([response(2)]);
  });

  it("never queues a response behind waiting notifications, caps the queue and counts what it dropped", async () => {
    const { f, got, notes } = flow({ ...DEFAULT_FLOW, maxQueued: 100 });
    for (let n = 0; n < 5000; n++) f.push(log(n), 80);
    f.sent(request(3));
    f.push(response(3), 30);
    await turn();
    const at = got.findIndex((m) => m.id === 3);
    expect(at).toBe(DEFAULT_FLOW.otherBurst);
    // 200 passed at once, 100 waited in the queue (dropped at close), the other 4700 never queued.
    f.close();
    expect(notes.join("\n")).toMatch(/5000 notification\(s\) received; 0 coalesced .*, 4800 dropped/);
  });
});
