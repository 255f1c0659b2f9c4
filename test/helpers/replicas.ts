import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { startHerd, type Herd, type HerdOptions } from "./herd.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "./rr-proxy.js";

/** mcp-herd replicas sharing one state folder, behind one round-robin address. */
export interface Replicas {
  herds: Herd[];
  proxy: RoundRobinProxy;
  /** The shared state folder. */
  stateDir: string;
  /** http://127.0.0.1:<proxy port>: append /mcp or /services/<name>/mcp. */
  base: string;
  /** The proxy's /mcp. */
  url: string;
  token?: string;
  close(): Promise<void>;
}

/** What service_list says of one service. */
export interface ListedService {
  name: string;
  status: string;
  pid: number | null;
  restarts: number;
  error: string | null;
}

/** One process's service_list, by service name. */
export async function listServices(herd: Herd): Promise<Record<string, ListedService>> {
  const l = (await herd.client.callTool({ name: "service_list", arguments: {} })) as CallToolResult;
  const services = (l.structuredContent as { services: ListedService[] }).services;
  return Object.fromEntries(services.map((s) => [s.name, s]));
}

/** Starts `n` HTTP mcp-herd processes on one fresh state folder with --follow-state, and a round-robin proxy before them. */
export async function startReplicas(n: number, opts: Pick<HerdOptions, "env" | "token" | "args"> = {}): Promise<Replicas> {
  const dir = mkdtempSync(join(tmpdir(), "herd-replicas-"));
  const stateDir = join(dir, "state");
  const herds: Herd[] = [];
  let proxy: RoundRobinProxy | undefined;
  const close = async () => {
    await proxy?.close();
    await Promise.all(herds.map((h) => h.close()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const started = await Promise.allSettled(
      Array.from({ length: n }, () => startHerd({ http: true, stateDir, token: opts.token, env: opts.env, args: ["--follow-state", ...(opts.args ?? [])] })),
    );
    for (const s of started) if (s.status === "fulfilled") herds.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    proxy = await startRoundRobinProxy(herds.map((h) => ({ host: "127.0.0.1", port: Number(new URL(h.base!).port) })));
  } catch (e) {
    await close();
    throw e;
  }
  const base = `http://127.0.0.1:${proxy.port}`;
  return { herds, proxy, stateDir, base, url: `${base}/mcp`, token: opts.token, close };
}
