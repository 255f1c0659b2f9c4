import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";
import { INIT, MCP_HEADERS, raw } from "../helpers/http.js";

const TOKEN = "test-token-0123456789abcdef";

describe("streamable HTTP with a token", () => {
  let herd: Herd;
  beforeAll(async () => {
    herd = await startHerd({ http: true, token: TOKEN });
  });
  afterAll(async () => herd?.close());

  const auth = { authorization: `Bearer ${TOKEN}` };
  const stillServes = async () => {
    const r = await herd.client.callTool({ name: "herd_status", arguments: {} });
    expect(r.isError).toBeFalsy();
  };

  it("prints one start line saying where it listens and that a token is required", () => {
    expect(herd.stderr()).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+\/mcp \(token required\)/);
  });

  it("initializes, lists and calls over HTTP", async () => {
    const { tools } = await herd.client.listTools();
    expect(tools.map((t) => t.name)).toContain("herd_status");
    await stillServes();
  });

  it("gives a second client its own session at the same time", async () => {
    const second = await herd.connect();
    const a = (herd.client.transport as { sessionId?: string }).sessionId;
    const b = (second.transport as { sessionId?: string }).sessionId;
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(b).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
    const [r1, r2] = await Promise.all([
      herd.client.callTool({ name: "herd_status", arguments: {} }),
      second.callTool({ name: "herd_status", arguments: {} }),
    ]);
    expect(r1.isError).toBeFalsy();
    expect(r2.isError).toBeFalsy();
    await second.close();
  });

  it("answers 401 without a token, with a wrong token of the same and of another length", async () => {
    const wrong: Array<Record<string, string>> = [{}, { authorization: `Bearer ${"x".repeat(TOKEN.length)}` }, { authorization: "Bearer short" }];
    for (const headers of wrong) {
      const r = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...headers }, body: INIT });
      expect(r.status).toBe(401);
      expect(r.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect(r.body).not.toContain(TOKEN);
    }
    await stillServes();
  });

  it("answers 403 to a foreign Origin and a foreign Host, and allows no Origin", async () => {
    const foreign = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...auth, origin: "https://evil.example" }, body: INIT });
    expect(foreign.status).toBe(403);
    const badHost = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...auth, host: "evil.example" }, body: INIT });
    expect(badHost.status).toBe(403);
    const local = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...auth, origin: "http://localhost:1234" }, body: INIT });
    expect(local.status).toBe(200);
    const none = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...auth }, body: INIT });
    expect(none.status).toBe(200);
    await stillServes();
  });

  it("answers 413 to a body over the cap (declared and streamed)", async () => {
    const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
    const declared = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...auth }, body: big });
    expect(declared.status).toBe(413);
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(herd.url!, { method: "POST", headers: { ...MCP_HEADERS, ...auth, "transfer-encoding": "chunked" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 5 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    }).catch((e: Error) => `error ${e.message}`);
    expect(streamed).toBe(413);
    await stillServes();
  });

  it("answers a bad JSON body with a parse error and a request without session with 400", async () => {
    const bad = await raw(herd.url!, { headers: { ...MCP_HEADERS, ...auth }, body: "{nope" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe(-32700);
    const noSession = await raw(herd.url!, {
      headers: { ...MCP_HEADERS, ...auth },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
    expect(noSession.status).toBe(400);
    const unknown = await raw(herd.url!, {
      headers: { ...MCP_HEADERS, ...auth, "mcp-session-id": "00000000-0000-4000-8000-000000000000" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
    expect(unknown.status).toBe(404);
    await stillServes();
  });

  it("answers an unknown tool with a JSON-RPC error over HTTP and keeps serving", async () => {
    await expect(herd.client.callTool({ name: "no_such_tool", arguments: {} })).rejects.toThrow(/Unknown tool 'no_such_tool'/);
    await stillServes();
  });

  it("ends a session on DELETE; the id is unknown afterwards", async () => {
    const c = await herd.connect();
    const sid = (c.transport as { sessionId?: string }).sessionId!;
    const del = await raw(herd.url!, { method: "DELETE", headers: { ...auth, "mcp-session-id": sid } });
    expect(del.status).toBe(200);
    const after = await raw(herd.url!, {
      headers: { ...MCP_HEADERS, ...auth, "mcp-session-id": sid },
      body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list" }),
    });
    expect(after.status).toBe(404);
    await stillServes();
  });

  it("answers /health without auth for probes", async () => {
    const r = await raw(`${herd.base}/health`, { method: "GET" });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ ok: true, version: expect.any(String), services: 0, hosts: expect.any(Number) });
  });

  it("keeps an idle keep-alive connection 25 s (Keep-Alive: timeout=25), so a lagging client does not race our close", async () => {
    const res = await fetch(`${herd.base}/health`);
    await res.text();
    expect(res.headers.get("connection")).toBe("keep-alive");
    expect(res.headers.get("keep-alive")).toBe("timeout=25");
  });
});

describe("streamable HTTP lifecycle", () => {
  it("expires idle sessions", async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "herd-idle-"));
    writeFileSync(join(dir, "c.json"), JSON.stringify({ http: { sessionIdleSeconds: 1 } }));
    // A session with nothing open: an SDK client's listen-only SSE stream would keep its session in use.
    const herd = await startHerd({ http: true, noClient: true, args: ["--config", join(dir, "c.json")] });
    try {
      const sid = (await raw(herd.url!, { headers: MCP_HEADERS, body: INIT })).headers["mcp-session-id"] as string;
      let status = 0;
      for (let i = 0; i < 40 && status !== 404; i++) {
        await new Promise((r) => setTimeout(r, 250));
        status = (
          await raw(herd.url!, {
            headers: { ...MCP_HEADERS, "mcp-session-id": sid },
            body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "ping" }),
          })
        ).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 1500));
      }
      expect(status).toBe(404);
    } finally {
      await herd.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops within 5 s on SIGTERM and on SIGINT", async () => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      const herd = await startHerd({ http: true });
      const t0 = Date.now();
      const exited = new Promise<number | null>((r) => herd.proc!.once("exit", (code) => r(code)));
      herd.proc!.kill(sig);
      const code = await exited;
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(code).toBe(0);
      await herd.close();
    }
  });
});
