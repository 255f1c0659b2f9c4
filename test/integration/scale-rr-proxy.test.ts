import { createHash, randomBytes } from "node:crypto";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startRoundRobinProxy, type RoundRobinProxy } from "../helpers/rr-proxy.js";

/** A TCP upstream that answers "<id>:" then echoes every byte back, and ends when the client ends. */
async function upstream(id: string): Promise<{ server: Server; port: number; ends: number }> {
  const state = { ends: 0 };
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.write(`${id}:`);
    s.pipe(s);
    s.on("end", () => state.ends++);
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    get ends() {
      return state.ends;
    },
  };
}

/** Sends `body`, half-closes, and collects everything until the other side closes (bounded); a reset is an error code. */
function exchange(port: number, body: Buffer): Promise<{ data: Buffer; error?: string }> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const timer = setTimeout(() => (s.destroy(), reject(new Error("no close within 10 s"))), 10_000);
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on("close", () => (clearTimeout(timer), resolve({ data: Buffer.concat(chunks), ...(error ? { error } : {}) })));
    s.end(body);
  });
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("the round-robin TCP proxy of the scaling tests", () => {
  let proxy: RoundRobinProxy | undefined;
  const servers: Server[] = [];
  afterEach(async () => {
    await proxy?.close();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    proxy = undefined;
  });

  it("sends each new connection to the next upstream in turn, pipes 1 MiB both ways intact, and passes a half-close on", async () => {
    const ups = [await upstream("a"), await upstream("b")];
    servers.push(...ups.map((u) => u.server));
    proxy = await startRoundRobinProxy(ups.map((u) => ({ host: "127.0.0.1", port: u.port })));
    expect(proxy.host).toBe("127.0.0.1");
    const body = randomBytes(1024 * 1024);
    const answers: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      const { data, error } = await exchange(proxy.port, body);
      expect(error).toBeUndefined();
      answers.push(data);
    }
    expect(answers.map((a) => a.subarray(0, 2).toString())).toEqual(["a:", "b:", "a:", "b:"]);
    for (const a of answers) expect(sha(a.subarray(2))).toBe(sha(body));
    expect(proxy.routed).toEqual([0, 1, 0, 1]);
    expect(ups.map((u) => u.ends)).toEqual([2, 2]);
    expect(proxy.open).toBe(0);
  });

  it("a connection to an upstream that is down is closed at once (the next goes on in turn), not left hanging", async () => {
    const up = await upstream("a");
    servers.push(up.server);
    const down = createServer();
    await new Promise<void>((r) => down.listen(0, "127.0.0.1", r));
    const downPort = (down.address() as AddressInfo).port;
    await new Promise((r) => down.close(r));
    proxy = await startRoundRobinProxy([
      { host: "127.0.0.1", port: downPort },
      { host: "127.0.0.1", port: up.port },
    ]);
    const t0 = Date.now();
    const first = await exchange(proxy.port, Buffer.from("x"));
    expect(first.data.length).toBe(0);
    expect([undefined, "ECONNRESET", "EPIPE"]).toContain(first.error);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect((await exchange(proxy.port, Buffer.from("x"))).data.toString()).toBe("a:x");
  });

  it("close() ends open connections on both sides and stops listening", async () => {
    const up = await upstream("a");
    servers.push(up.server);
    proxy = await startRoundRobinProxy([{ host: "127.0.0.1", port: up.port }]);
    const s = connect(proxy.port, "127.0.0.1");
    const closed = new Promise<void>((r) => s.on("close", () => r()));
    s.on("error", () => undefined);
    await new Promise<void>((r) => s.once("data", () => r()));
    expect(proxy.open).toBe(1);
    await proxy.close();
    await closed;
    const refused = await new Promise<string>((r) => {
      const t = connect(proxy!.port, "127.0.0.1");
      t.on("error", (e: NodeJS.ErrnoException) => r(e.code ?? "error"));
      t.on("connect", () => (t.destroy(), r("connected")));
    });
    expect(refused).toBe("ECONNREFUSED");
    proxy = undefined;
  });

  it("refuses to start without an upstream", async () => {
    await expect(startRoundRobinProxy([])).rejects.toThrow("needs at least one upstream");
  });
});
