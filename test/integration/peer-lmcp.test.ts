import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TransportError, resultText } from "../../src/backends/backend.js";
import { PeerBackend } from "../../src/backends/peer.js";
import { silentLogger } from "../../src/log.js";
import { startLmcpFixture } from "../helpers/peers.js";

const TOKEN = "fixture-token-0123456789";

/** A port nothing listens on (bound, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

describe("PeerBackend against an lmcp-style host (plain JSON-RPC)", () => {
  let dir: string;
  const cleanups: Array<() => Promise<void>> = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "herd-peer-"));
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function setup(mode: string, token: string | undefined = TOKEN) {
    const fx = await startLmcpFixture(["--mode", mode, "--token", TOKEN]);
    const peer = new PeerBackend({ url: fx.url, token, timeoutMs: 3000, log: silentLogger });
    cleanups.push(fx.stop, () => peer.close());
    return { fx, peer };
  }

  it.each(["plain", "strict"])("falls back to plain JSON-RPC (%s) and serves list + call", async (mode) => {
    const { peer } = await setup(mode);
    const tools = await peer.listTools();
    expect(tools.map((t) => t.name)).toContain("echo");
    expect(await peer.mode()).toBe("plain");
    const r = await peer.callTool("echo", { text: "hi there" });
    expect(resultText(r)).toBe("echo: hi there");
    const file = join(dir, "a file with 'quotes' $(x)\n.txt");
    writeFileSync(file, "line1\nline2 é\n");
    expect(resultText(await peer.callTool("read_file", { path: file }))).toBe("line1\nline2 é\n");
  });

  it("uses the SDK client when the host answers initialize (no session)", async () => {
    const { peer } = await setup("lite");
    expect(await peer.mode()).toBe("mcp");
    expect(resultText(await peer.callTool("echo", { text: "x" }))).toBe("echo: x");
    expect((await peer.listTools()).length).toBe(5);
  });

  it("passes a tool's isError result through unchanged", async () => {
    const { peer } = await setup("plain");
    const r = await peer.callTool("fail", {});
    expect(r.isError).toBe(true);
    expect(resultText(r)).toBe("it failed on purpose");
  });

  it("turns a JSON-RPC error on tools/call into an isError result, not a transport failure", async () => {
    const { peer } = await setup("plain");
    const r = await peer.callTool("no_such_tool", {});
    expect(r.isError).toBe(true);
    expect(resultText(r)).toMatch(/Unknown tool: no_such_tool/);
  });

  it.each(["plain", "lite"])("a wrong token is an auth TransportError (%s)", async (mode) => {
    const { peer } = await setup(mode, "wrong-token-wrong-token");
    const e = await peer.listTools().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as Error).message).toMatch(/auth refused \(HTTP 401\)/);
    expect((e as Error).message).not.toContain("wrong-token");
  });

  it("a dead host is a TransportError naming ECONNREFUSED; it recovers when the host is back", async () => {
    const { fx, peer } = await setup("plain");
    expect((await peer.listTools()).length).toBe(5);
    await fx.stop();
    const e = await peer.callTool("echo", { text: "x" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as Error).message).toMatch(/ECONNREFUSED/);
    const again = await startLmcpFixture(["--mode", "plain", "--token", TOKEN, "--port", String(fx.port)]);
    cleanups.push(again.stop);
    expect(resultText(await peer.callTool("echo", { text: "back" }))).toBe("echo: back");
  });

  it("a call that outlives its bound is a TransportError saying so", async () => {
    const { peer } = await setup("plain");
    const e = await peer.callTool("sleep", { ms: 3000 }, { timeoutMs: 300 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as Error).message).toMatch(/no answer within 0.3s/);
  });

  it("nothing listening at all fails within the bound", async () => {
    const port = await freePort();
    const peer = new PeerBackend({ url: `http://127.0.0.1:${port}/mcp`, timeoutMs: 2000, log: silentLogger });
    cleanups.push(() => peer.close());
    const e = await peer.listTools().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TransportError);
    expect((e as Error).message).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
  });
});
