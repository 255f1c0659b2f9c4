import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { ECHO, httpClients, ROOT, type Proc } from "./lib.js";

/** The peers run beside mcp-herd in the same rounds, each serving the same stdio echo child over streamable HTTP. */
export const PEERS = {
  supergateway: (port: number) => [join(ROOT, "node_modules", "supergateway", "dist", "index.js"), "--stdio", `${process.execPath} ${ECHO}`, "--outputTransport", "streamableHttp", "--stateful", "--port", String(port), "--logLevel", "none"],
  "mcp-proxy": (port: number) => [join(ROOT, "node_modules", "mcp-proxy", "dist", "bin", "mcp-proxy.mjs"), "--server", "stream", "--host", "127.0.0.1", "--port", String(port), "--", process.execPath, ECHO],
} as const;

/** A free loopback port (the peers take a port, not 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts a peer and connects one SDK client once it answers (bounded: 20 s). */
export async function peer(name: keyof typeof PEERS): Promise<Proc & { startMs: number }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const t0 = performance.now();
  const proc: ChildProcess = spawn(process.execPath, PEERS[name](port), { stdio: ["ignore", "ignore", "ignore"] });
  const { connect, close } = httpClients(proc, url);
  let client: Client | undefined;
  const until = Date.now() + 20_000;
  while (!client) {
    try {
      client = await connect();
      await client.listTools();
    } catch (e) {
      client = undefined;
      if (Date.now() > until || proc.exitCode !== null) throw new Error(`${name} did not answer: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const startMs = performance.now() - t0;
  return { client, pid: proc.pid!, url, startMs, connect, close };
}
