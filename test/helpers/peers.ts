import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CLI, cleanEnv } from "./herd.js";
import { stopProc, waitListening } from "./proc.js";

const LMCP_FIXTURE = fileURLToPath(new URL("../fixtures/lmcp-peer.mjs", import.meta.url));

/** A peer process a hub can reach at `url`; `port` lets a test start it again at the same URL. */
export interface PeerProc {
  url: string;
  port: number;
  proc: ChildProcess;
  /** SIGKILL (a crash, as the hub sees it), resolved once it has exited. */
  stop(): Promise<void>;
}

/** A second mcp-herd in --peer mode over HTTP with a bearer token, on 127.0.0.1:`port` (0: any). */
export async function startPeerHerd(opts: { stateDir: string; token: string; port?: number; env?: Record<string, string> }): Promise<PeerProc> {
  const proc = spawn(process.execPath, [CLI, "--peer", "--http", `127.0.0.1:${opts.port ?? 0}`, "--state-dir", opts.stateDir], {
    env: cleanEnv({ ...opts.env, MCP_HERD_TOKEN: opts.token }),
    stdio: ["ignore", "ignore", "pipe"],
  });
  const { url } = await waitListening(proc, "peer mcp-herd");
  return { url, port: Number(new URL(url).port), proc, stop: () => stopProc(proc, "SIGKILL") };
}

/** The lmcp-style fixture host (test/fixtures/lmcp-peer.mjs) with these arguments, once it prints LISTENING. */
export async function startLmcpFixture(args: string[] = []): Promise<PeerProc> {
  const proc = spawn(process.execPath, [LMCP_FIXTURE, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const { url } = await waitListening(proc, "lmcp fixture", { stream: "stdout", re: /LISTENING (\S+)/ });
  return { url, port: Number(new URL(url).port), proc, stop: () => stopProc(proc, "SIGKILL") };
}
