import { readdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, allText, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { INIT } from "../helpers/http.js";

const TOKEN = "h2-http-token-0123456789abcdef";
const BODY_TIMEOUT_S = 2;

/** A raw connection that sends `head` and then whatever the test pushes, collecting what comes back. */
interface RawConn {
  socket: Socket;
  received(): string;
  closed: Promise<number>;
  isClosed(): boolean;
}

function openRaw(port: number, head: string): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const socket = connect(port, "127.0.0.1");
    let got = "";
    let done = false;
    socket.on("data", (d: Buffer) => (got += d.toString("latin1")));
    socket.on("error", () => undefined); // EPIPE / ECONNRESET while still sending: the server closed it, which is the point
    const closed = new Promise<number>((r) => socket.once("close", () => ((done = true), r(Date.now() - t0))));
    socket.once("connect", () => {
      socket.write(head);
      resolve({ socket, received: () => got, closed, isClosed: () => done });
    });
    socket.once("error", reject);
  });
}

function postHead(port: number, opts: { auth?: string; length: number }): string {
  return (
    `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
    (opts.auth ? `Authorization: Bearer ${opts.auth}\r\n` : "") +
    `Content-Length: ${opts.length}\r\n\r\n`
  );
}

/** Keeps sending body bytes until the socket is closed (what a flooding client does after being refused). */
function keepSending(c: RawConn): void {
  const chunk = Buffer.alloc(16 * 1024, 0x20);
  const tick = setInterval(() => {
    if (c.isClosed() || c.socket.destroyed) return clearInterval(tick);
    c.socket.write(chunk);
  }, 5);
  void c.closed.then(() => clearInterval(tick));
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

describe("HTTP request bodies have a deadline, and every refusal ends its connection", () => {
  let dir: string;
  let herd: Herd;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-http-"));
    const config = join(dir, "herd.json");
    writeFileSync(config, JSON.stringify({ http: { bodyTimeoutSeconds: BODY_TIMEOUT_S } }));
    herd = await startHerd({ http: true, token: TOKEN, args: ["--config", config] });
    port = Number(new URL(herd.url!).port);
  });
  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stillServes = async () => {
    const r = (await herd.client.callTool({ name: "remote_shell", arguments: { host: "local", command: "echo serving" } })) as CallToolResult;
    expect(allText(r)).toContain("serving");
    expect(alive(herd.pid)).toBe(true);
  };

  it("a body slower than the deadline gets 408 and its socket is closed", async () => {
    const c = await openRaw(port, postHead(port, { auth: TOKEN, length: INIT.length }) + INIT.slice(0, 10));
    const ms = await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(c.received()).toMatch(/connection: close/i);
    expect(c.received()).toMatch(/the body did not arrive within 2 s/);
    expect(ms).toBeGreaterThanOrEqual(BODY_TIMEOUT_S * 1000 - 100);
    expect(ms).toBeLessThan(BODY_TIMEOUT_S * 1000 + 10_000);
    await stillServes();
  });

  it("a 401 while the client keeps sending is answered, then the socket is closed", async () => {
    const c = await openRaw(port, postHead(port, { length: 1024 * 1024 * 1024 }));
    keepSending(c);
    const ms = await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 401 /);
    expect(c.received()).toMatch(/connection: close/i);
    expect(ms).toBeLessThan(10_000);
    await stillServes();
  });

  it("a 403 (bad Host) and a 413 while the client keeps sending are answered, then the socket is closed", async () => {
    const bad = await openRaw(port, postHead(port, { auth: TOKEN, length: 1024 * 1024 * 1024 }).replace(`Host: 127.0.0.1:${port}`, "Host: evil.example"));
    keepSending(bad);
    const big = await openRaw(port, postHead(port, { auth: TOKEN, length: 1024 * 1024 * 1024 }));
    keepSending(big);
    expect(await bad.closed).toBeLessThan(10_000);
    expect(await big.closed).toBeLessThan(10_000);
    expect(bad.received()).toMatch(/^HTTP\/1\.1 403 /);
    expect(big.received()).toMatch(/^HTTP\/1\.1 413 /);
    await stillServes();
  });

  it("50 refused or stalled sockets at once all end within the bound and leave no fd behind", async () => {
    const before = fdCount(herd.pid);
    const conns = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        if (i % 2 === 0) {
          const c = await openRaw(port, postHead(port, { auth: "wrong-token-0123456789", length: 1024 * 1024 * 1024 }));
          keepSending(c);
          return c;
        }
        return openRaw(port, postHead(port, { auth: TOKEN, length: 100_000 }) + "{");
      }),
    );
    const times = await Promise.all(conns.map((c) => c.closed));
    expect(Math.max(...times)).toBeLessThan(BODY_TIMEOUT_S * 1000 + 15_000);
    for (const [i, c] of conns.entries()) expect(c.received(), `socket ${i}`).toMatch(i % 2 === 0 ? /^HTTP\/1\.1 401 / : /^HTTP\/1\.1 408 /);
    expect(await waitFor(() => fdCount(herd.pid) <= before + 3, 10_000)).toBe(true);
    await stillServes();
  });
});
