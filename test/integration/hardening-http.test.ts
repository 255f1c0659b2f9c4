import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { INIT, MCP_HEADERS, raw } from "../helpers/http.js";

const TOKEN = "hardening-token-0123456789abcdef";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LIST = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" });

/** The JSON-RPC error code of a plain JSON or SSE answer. */
function errorCode(body: string): number | undefined {
  const json = body.startsWith("{") ? body : (/^data: (.*)$/m.exec(body)?.[1] ?? "{}");
  return (JSON.parse(json) as { error?: { code: number } }).error?.code;
}

describe("HTTP hardening through the real server", () => {
  let herd: Herd;
  beforeAll(async () => {
    herd = await startHerd({ http: true, token: TOKEN });
  });
  afterAll(async () => herd?.close());

  const stillServes = async () => {
    const r = await herd.client.callTool({ name: "herd_status", arguments: {} });
    expect(r.isError).toBeFalsy();
  };
  const init = async () => {
    const r = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...AUTH }, body: INIT });
    expect(r.status).toBe(200);
    return r.headers["mcp-session-id"] as string;
  };

  it("gives every session a distinct random UUID v4", async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, init));
    const clientId = (herd.client.transport as { sessionId?: string }).sessionId!;
    for (const id of [...ids, clientId]) expect(id).toMatch(UUID_V4);
    expect(new Set([...ids, clientId]).size).toBe(9);
  });

  it("after init: no session header is 400, an unknown id 404, a deleted id 404", async () => {
    const sid = await init();
    const headers = { ...MCP_HEADERS, ...AUTH };
    expect((await raw(herd.url!, { headers, body: LIST })).status).toBe(400);
    expect((await raw(herd.url!, { headers: { ...headers, "mcp-session-id": crypto.randomUUID() }, body: LIST })).status).toBe(404);
    expect((await raw(herd.url!, { headers: { ...headers, "mcp-session-id": "not-a-uuid' OR 1=1" }, body: LIST })).status).toBe(404);
    expect((await raw(herd.url!, { method: "DELETE", headers: { ...AUTH, "mcp-session-id": sid } })).status).toBe(200);
    expect((await raw(herd.url!, { headers: { ...headers, "mcp-session-id": sid }, body: LIST })).status).toBe(404);
    await stillServes();
  });

  it("answers a 10 MiB body with 413 and keeps serving", async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 0x20);
    const r = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...AUTH }, body: big }).catch((e: Error) => ({ status: -1, body: e.message }));
    expect(r.status).toBe(413);
    await stillServes();
  });

  it("answers JSON nested 10,000 and 1,000,000 deep with a JSON-RPC error and keeps serving", async () => {
    const sid = await init();
    for (const depth of [10_000, 1_000_000]) {
      const bodies = ["[".repeat(depth) + "]".repeat(depth), '{"a":'.repeat(depth / 10) + "1" + "}".repeat(depth / 10), "[".repeat(depth)];
      for (const body of bodies) {
        for (const session of [{ "mcp-session-id": sid }, {}] as Record<string, string>[]) {
          const r = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...AUTH, ...session }, body });
          const what = `depth ${depth}, ${Object.keys(session).length ? "in a session" : "no session"}: ${r.body.slice(0, 200)}`;
          expect(r.status, what).toBe(400);
          expect(errorCode(r.body), what).toBeLessThan(-32000 + 1);
          if (Object.keys(session).length) expect([-32700, -32600], what).toContain(errorCode(r.body));
          await stillServes();
        }
      }
    }
    expect((await raw(herd.url!, { headers: { ...MCP_HEADERS, ...AUTH, "mcp-session-id": sid }, body: LIST })).status).toBe(200);
  });

  it("slows down repeated authentication failures: the 10th bad request takes noticeably longer than the 1st", async () => {
    const other = await startHerd({ http: true, token: TOKEN, noClient: true });
    try {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await raw(other.url!, { headers: { ...MCP_HEADERS, authorization: `Bearer wrong-${i}` }, body: INIT });
        expect(r.status).toBe(401);
        times.push(r.ms);
      }
      // An unthrottled answer takes ~10 ms and the 10th failure waits 2 s: the 1 s bounds tell them apart, with 100x slack.
      expect(times[0]).toBeLessThan(1_000);
      expect(times[9]).toBeGreaterThanOrEqual(1_000);
      expect(times[9]! - times[0]!).toBeGreaterThan(800);
      const good = await raw(other.url!, { headers: { ...MCP_HEADERS, ...AUTH }, body: INIT });
      expect(good.status).toBe(200);
      expect(good.ms).toBeLessThan(1_000);
      const after = await raw(other.url!, { headers: { ...MCP_HEADERS, authorization: "Bearer wrong-again" }, body: INIT });
      expect(after.status).toBe(401);
      expect(after.ms).toBeLessThan(1_000);
    } finally {
      await other.close();
    }
  });
});
