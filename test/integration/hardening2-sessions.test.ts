import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request, type ClientRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { INIT, MCP_HEADERS, raw } from "../helpers/http.js";

const TOKEN = "h2-sessions-token-0123456789abcdef";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const LIST = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} });
const INITIALIZED = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("HTTP sessions: a listening client is not idle, and a full table makes room", () => {
  let dir: string | undefined;
  let herd: Herd | undefined;
  const streams: ClientRequest[] = [];
  afterEach(async () => {
    for (const s of streams.splice(0)) s.destroy();
    await herd?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    herd = dir = undefined;
  });

  const start = async (http: Record<string, number>) => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-sessions-"));
    const config = join(dir, "herd.json");
    writeFileSync(config, JSON.stringify({ http }));
    herd = await startHerd({ http: true, token: TOKEN, noClient: true, args: ["--config", config] });
    return herd;
  };
  const open = async (h: Herd): Promise<string> => {
    const r = await raw(h.url!, { headers: { ...MCP_HEADERS, ...AUTH }, body: INIT });
    expect(r.status).toBe(200);
    const sid = r.headers["mcp-session-id"] as string;
    expect((await raw(h.url!, { headers: { ...MCP_HEADERS, ...AUTH, "mcp-session-id": sid }, body: INITIALIZED })).status).toBe(202);
    return sid;
  };
  const list = async (h: Herd, sid: string) => (await raw(h.url!, { headers: { ...MCP_HEADERS, ...AUTH, "mcp-session-id": sid }, body: LIST })).status;
  /** A listen-only SSE stream (GET /mcp), kept open until the test ends. */
  const listen = (h: Herd, sid: string) =>
    new Promise<void>((resolve, reject) => {
      const req = request(h.url!, { method: "GET", headers: { ...AUTH, accept: "text/event-stream", "mcp-session-id": sid } }, (res) => {
        expect(res.statusCode).toBe(200);
        res.on("data", () => undefined);
        resolve();
      });
      req.on("error", (e) => (req.destroyed ? undefined : reject(e)));
      req.end();
      streams.push(req);
    });

  it("a session whose only traffic is an open listen-only SSE stream outlives sessionIdleSeconds; one without is expired", async () => {
    const h = await start({ sessionIdleSeconds: 2 });
    const listening = await open(h);
    const quiet = await open(h);
    await listen(h, listening);
    await sleep(6_000);
    expect(await list(h, listening)).toBe(200);
    expect(await list(h, quiet)).toBe(404);
  });

  it("at the session cap a new client gets a session: the idlest one is evicted, busy ones are kept, 503 only when all are in use", async () => {
    const h = await start({ maxSessions: 3 });
    const [a, b, c] = [await open(h), await open(h), await open(h)];
    await sleep(50);
    expect(await list(h, b)).toBe(200);
    expect(await list(h, c)).toBe(200);
    const d = await open(h);
    expect(await list(h, a)).toBe(404);
    for (const sid of [b, c, d]) expect(await list(h, sid)).toBe(200);
    expect(h.stderr()).toMatch(/session evicted to make room/);

    for (const sid of [b, c, d]) await listen(h, sid);
    const full = await raw(h.url!, { headers: { ...MCP_HEADERS, ...AUTH }, body: INIT });
    expect(full.status).toBe(503);
    expect(full.body).toMatch(/all 3 are in use/);
    for (const sid of [b, c, d]) expect(await list(h, sid)).toBe(200);
  });
});
