import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { stopProc, waitListening } from "./proc.js";

/** The repository root, and the built CLI the tests drive (run `npm run build` first). */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const CLI = join(ROOT, "dist", "main.js");

export interface HerdOptions {
  args?: string[];
  env?: Record<string, string>;
  /** Serve HTTP on 127.0.0.1:0 and connect over it (else stdio). */
  http?: boolean;
  /** Bearer token for HTTP (sent by the client and given to the server via MCP_HERD_TOKEN). */
  token?: string;
  /** Use this state dir instead of a fresh temp one (kept on close). */
  stateDir?: string;
  /** Do not connect a client (for tests that speak raw HTTP). */
  noClient?: boolean;
}

export interface Herd {
  client: Client;
  /** The /mcp URL when serving HTTP. */
  url?: string;
  /** http://host:port base when serving HTTP. */
  base?: string;
  token?: string;
  pid: number;
  stateDir: string;
  stderr(): string;
  /** A second client on the same server (HTTP only). */
  connect(headers?: Record<string, string>): Promise<Client>;
  close(): Promise<void>;
  /** The process, for signal tests. */
  proc?: ChildProcess;
}

// What a server under test inherits from the caller: enough to find programs and the user's home.
// Everything else (MCP_HERD_TOKEN, LMCP_HUB_BACKENDS, SSH_AUTH_SOCK, npm_config_*, ...) stays out.
const PASSED_ENV = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "TMPDIR", "LANG", "TERM"];
// How this machine reaches the package registries (a CA bundle, a proxy): npm, pip and git under
// test need them exactly as the caller has them.
const NETWORK_ENV = /^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|CURL_CA_BUNDLE|REQUESTS_CA_BUNDLE|PIP_CERT|GIT_SSL_CAINFO|(HTTPS?|NO|ALL)_PROXY)$/i;

/** A clean environment for a process under test: PATH/HOME and friends from the caller, plus `extra`. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && NETWORK_ENV.test(k)) env[k] = v;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Starts the built CLI and connects an SDK client to it, the way users do. */
export async function startHerd(opts: HerdOptions = {}): Promise<Herd> {
  const ownState = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "herd-state-"));
  const args = [CLI, "--state-dir", stateDir, ...(opts.args ?? [])];
  const env = cleanEnv(opts.env);
  if (opts.token) env.MCP_HERD_TOKEN = opts.token;
  const cleanup = () => {
    if (ownState) rmSync(stateDir, { recursive: true, force: true });
  };

  if (!opts.http) {
    const transport = new StdioClientTransport({ command: process.execPath, args, env, stderr: "pipe" });
    let err = "";
    transport.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    const client = new Client({ name: "herd-test", version: "0" });
    try {
      await client.connect(transport);
    } catch (e) {
      // A server that started but did not complete the handshake is stopped, not left behind.
      await transport.close().catch(() => undefined);
      cleanup();
      throw new Error(`${(e as Error).message}\nserver stderr:\n${err}`, { cause: e });
    }
    return {
      client,
      pid: transport.pid ?? -1,
      stateDir,
      stderr: () => err,
      connect: () => Promise.reject(new Error("stdio serves one client")),
      async close() {
        await client.close().catch(() => undefined);
        cleanup();
      },
    };
  }

  const proc = spawn(process.execPath, [...args, "--http", "127.0.0.1:0"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const { url, output: stderr } = await waitListening(proc, "mcp-herd").catch((e: Error) => {
    throw new Error(`${e.message}${out}`);
  });
  const headers = (extra?: Record<string, string>) => ({
    ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
    ...(extra ?? {}),
  });
  const clients: Client[] = [];
  const connect = async (extra?: Record<string, string>) => {
    const client = new Client({ name: "herd-test", version: "0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: headers(extra) } }));
    clients.push(client);
    return client;
  };
  let client = undefined as unknown as Client;
  if (!opts.noClient) {
    try {
      client = await connect();
    } catch (e) {
      await stopProc(proc);
      cleanup();
      throw e;
    }
  }
  return {
    client,
    url,
    base: url.replace(/\/mcp$/, ""),
    token: opts.token,
    pid: proc.pid!,
    proc,
    stateDir,
    stderr,
    connect,
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await stopProc(proc);
      cleanup();
    },
  };
}

/** Polls until `fn` is true or the bound passes; returns the last value. */
export async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 50): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** True while a process with this pid exists and is not a zombie (PID 1 may reap orphans slowly). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
  } catch {
    return !existsSync("/proc/self");
  }
}

/** Every text block of a tool result, joined by newlines. */
export function allText(r: CallToolResult): string {
  return r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}
