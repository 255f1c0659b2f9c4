import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { ConfigError } from "./config-error.js";
import { adoptClientEntries, clientEntrySchema, SERVICE_NAME as NAME } from "./config-clients.js";

/** What a host (or host group) may be called: safe in job ids, file names and log lines. */
/** How mcp-herd speaks to an HTTP MCP server: the 2025 handshake, a probe for 2026-07-28 with fallback, or 2026-07-28 only. */
export const PROTOCOLS = ["legacy", "auto", "2026-07-28"] as const;
export type ProtocolChoice = (typeof PROTOCOLS)[number];

export const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** One supervised service; also accepts a Claude Desktop `mcpServers` entry (command/args/env). */
export const serviceSpecSchema = z
  .strictObject({
    path: z.string().min(1).optional().describe("Absolute path of a local folder holding the server (runtime and entry are detected)."),
    git: z.string().min(1).optional().describe("Git URL to clone (https, ssh, git, file or an absolute path)."),
    ref: z.string().min(1).optional().describe("Branch, tag or commit of the git source."),
    npm: z.string().min(1).optional().describe("npm package spec: name, name@range or @scope/name@version."),
    python: z.string().min(1).optional().describe("Python package spec run with uvx or in a venv (e.g. mcp-server-time)."),
    command: z.string().min(1).optional().describe("Program to run as given (no shell), e.g. node or /usr/bin/my-server."),
    args: z.array(z.string()).optional().describe("Arguments for command (each one element; never split by a shell)."),
    url: z.string().min(1).optional().describe("http(s) URL of a remote streamable HTTP MCP server."),
    headers: z.record(z.string(), z.string()).optional().describe("HTTP headers for a url source (e.g. Authorization); values are masked in --print-config."),
    env: z.record(z.string(), z.string()).optional().describe("Extra environment variables for the server; values never appear in logs, results or doctor output."),
    cwd: z.string().optional().describe("Absolute working folder for the server process."),
    runtime: z.enum(["node", "bun", "python"]).optional().describe("Force the runtime of a path/git source instead of detecting it."),
    install: z.boolean().optional().describe("Install dependencies of a path/git source (default true)."),
    allow_scripts: z.boolean().optional().describe("Allow package install scripts (default false)."),
    inherit_env: z.boolean().optional().describe("Pass mcp-herd's environment (minus its secrets) to the server (default true); false gives only HOME, PATH, USER, SHELL, TERM, LOGNAME."),
    timeout_ms: z.number().int().positive().optional().describe("Bound on the handshake (initialize + tools/list) in ms; default 30000."),
    host: z.string().optional().describe("Run it on this host's mcp-herd peer (a host with a peer); default this machine."),
    type: z
      .enum(["stdio", "http", "streamable-http", "sse"])
      .optional()
      .describe("Transport as a client config names it; a url implies streamable HTTP, \"sse\" uses the legacy HTTP+SSE transport."),
    disabled: z.boolean().optional().describe("Keep the entry but do not start it."),
    protocol: z
      .enum(PROTOCOLS)
      .optional()
      .describe(
        'Protocol era to speak to the service: "legacy" (initialize, the default), "auto" (probe with server/discover, fall back to initialize; a url service is re-probed after the connection is lost, a local one at service_restart) or "2026-07-28" (only that). For a local (stdio) service the probe goes to its process: one that exits on it is started again with initialize.',
      ),
  });
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

const clientServerSchema = clientEntrySchema(serviceSpecSchema);

const sshSpecSchema = z.strictObject({
  host: z.string().min(1).describe("Host name or ssh_config alias (resolved like ssh -G)."),
  port: z.number().int().min(1).max(65535).optional().describe("SSH port (default: ssh_config, then 22)."),
  user: z.string().min(1).optional().describe("Login user (default: ssh_config, then the local user)."),
  identityFile: z.string().min(1).optional().describe("Private key file (default: ssh_config IdentityFile, ~/.ssh/id_*, and ssh-agent)."),
  knownHostsFile: z.string().min(1).optional().describe("known_hosts file to check the host key against instead of the user's."),
  acceptNewHostKey: z.boolean().optional().describe("Trust and record an unknown host key on first connect (never a changed one); default false."),
  proxyJump: z.string().optional().describe("Jump hosts, as OpenSSH's ProxyJump: [user@]host[:port], comma-separated."),
  sshConfig: z.string().min(1).optional().describe("ssh_config file to resolve the host with instead of ~/.ssh/config (as ssh -F); its ProxyCommand is honoured."),
});

const peerSpecSchema = z.strictObject({
  url: z.string().url().describe("The peer's MCP endpoint: another mcp-herd (--peer --http) or an lmcp host, e.g. http://10.0.0.5:8090/mcp."),
  token: z.string().optional().describe("Bearer token the peer requires; masked in --print-config, never logged."),
  protocol: z
    .enum(PROTOCOLS)
    .optional()
    .describe('Protocol era for the peer: "legacy" (initialize, the default), "auto" (probe with server/discover, fall back to initialize; re-probed after the connection is lost) or "2026-07-28" (only that).'),
});

const hostSpecSchema = z.strictObject({
  name: z.string().regex(HOST_NAME, "host names are letters, digits, '.', '_' and '-'").describe("Host name used by remote_* tools ('local' is this machine)."),
  ssh: sshSpecSchema.optional().describe("How to reach the host over SSH (the fallback when the peer is down)."),
  peer: peerSpecSchema.optional().describe("The host's HTTP MCP peer, tried first."),
});
export type HostSpec = z.infer<typeof hostSpecSchema>;

/** The config file: every key optional, unknown keys refused. */
export const configFileSchema = z.strictObject({
  $schema: z.string().optional().describe("JSON Schema of this file, for editors (config.schema.json in the mcp-herd repository)."),
  http: z
    .strictObject({
      host: z.string().optional().describe("Address to listen on with --http (default 127.0.0.1; a non-loopback one needs a token)."),
      port: z.number().int().min(0).max(65535).optional().describe("Port to listen on with --http (default 8090; 0 picks a free one)."),
      maxBodyBytes: z.number().int().positive().optional().describe("Largest request body accepted (default 4 MiB); bigger ones get 413."),
      sessionIdleSeconds: z.number().positive().optional().describe("An HTTP session unused this long is closed (default 1800)."),
      bodyTimeoutSeconds: z.number().positive().optional().describe("A request body not fully received this long after its headers gets 408 and its connection is closed (default 30)."),
      maxSessions: z.number().int().positive().optional().describe("Most HTTP sessions at once (default 256)."),
      allowedHosts: z.array(z.string()).optional().describe("Extra Host header values accepted besides the listen address (DNS rebinding guard)."),
      allowedOrigins: z.array(z.string()).optional().describe("Browser Origins allowed to call /mcp (none by default)."),
    })
    .optional()
    .describe("The HTTP listener (with --http)."),
  token: z.string().min(16, "use at least 16 characters").optional().describe("Bearer token required on /mcp (16+ characters); prefer MCP_HERD_TOKEN or --token-file."),
  tokens: z
    .array(
      z.strictObject({
        name: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "token names are letters, digits, '.', '_' and '-'")
          .describe("Who holds the token: the caller's name in the audit log."),
        token: z.string().min(16, "use at least 16 characters").describe("The bearer token (16+ characters)."),
      }),
    )
    .optional()
    .describe("Named bearer tokens accepted on /mcp besides token; each session stays bound to its token."),
  stateDir: z.string().optional().describe("Where services, caches and state live (default $XDG_STATE_HOME/mcp-herd)."),
  followState: z
    .boolean()
    .optional()
    .describe(
      "Follow the state folder: load and unload what other mcp-herd processes sharing it load and unload, so replicas behind one address serve the same services (default false).",
    ),
  logLevel: z.enum(["debug", "info", "warn", "error"]).optional().describe("Least level written to stderr (default info)."),
  logFormat: z.enum(["text", "json"]).optional().describe("Log lines as text or JSON objects (default text)."),
  peer: z.boolean().optional().describe("Also serve this machine's host tools (shell, read_file, ...) so another mcp-herd or an lmcp hub can use it as a peer."),
  proxyTools: z.boolean().optional().describe("Serve each running service's tools as <service>__<tool> (default true); false leaves only service_call."),
  services: z
    .record(z.string().regex(NAME, "service names match ^[a-z0-9][a-z0-9_-]{0,62}$"), serviceSpecSchema)
    .optional()
    .describe("MCP servers to start with mcp-herd, by name (one source each: path, git, npm, python, command or url)."),
  mcpServers: z
    .record(z.string(), clientServerSchema)
    .optional()
    .describe("Services as Claude Desktop, Claude Code, Cursor or Cline write them; names are mapped to valid service names, client-only keys ignored."),
  servers: z.record(z.string(), clientServerSchema).optional().describe("Services as VS Code's mcp.json writes them (same rules as mcpServers)."),
  inputs: z.array(z.unknown()).optional().describe("VS Code's input prompts: accepted and ignored (mcp-herd prompts for nothing)."),
  startupWaitSeconds: z
    .number()
    .min(0)
    .max(600)
    .optional()
    .describe("How long a session's first tools/list, prompts/list and resources/list wait for the services from config and the state file to start (default 15)."),
  inputWaitSeconds: z
    .number()
    .positive()
    .max(3600)
    .optional()
    .describe("How long a 2026-07-28 client may take to come back with the input (sampling, elicitation, roots) a 2025-era service asked for during its call (default 600)."),
  hosts: z.array(hostSpecSchema).optional().describe("Hosts of the fleet, each with a peer and/or SSH path."),
  hostsFile: z.string().optional().describe("lmcp hub registry file (lines: name ssh_host lmcp_url token, - for none)."),
  local: z.boolean().optional().describe("Serve this machine as host 'local' (default true)."),
  groups: z.record(z.string(), z.array(z.string())).optional().describe("Named sets of hosts, usable wherever a host name is."),
  probeTtlSeconds: z.number().positive().optional().describe("How long a host probe result is reused (default 30)."),
  peerTimeoutSeconds: z.number().positive().optional().describe("Bound to reach a peer (connect + list) before falling back to SSH (default 6)."),
  sshTimeoutSeconds: z.number().positive().optional().describe("Bound of an SSH connect + handshake + login (default 10)."),
  auditLog: z.string().optional().describe("File to append a JSON line to for every call that can change something (off by default)."),
  runnerApi: z
    .boolean()
    .optional()
    .describe(
      "With --http, also answer the runner supervisor's HTTP API (POST /load, /call, /unload; GET /health, /list, /logs) on the same listener, behind the same token, so its broker can drive mcp-herd (default false).",
    ),
});
export type ConfigFile = z.infer<typeof configFileSchema>;

/** The one validated configuration the server runs with. */
export interface Config {
  mode: "stdio" | "http";
  http: {
    host: string;
    port: number;
    maxBodyBytes: number;
    sessionIdleSeconds: number;
    bodyTimeoutSeconds: number;
    maxSessions: number;
    allowedHosts: string[];
    allowedOrigins: string[];
  };
  token?: string;
  /** Named tokens; the name identifies the caller in the audit log and binds its sessions. */
  tokens: Array<{ name: string; token: string }>;
  stateDir: string;
  /** Load and unload what other processes sharing the state folder load and unload (replicas). */
  followState: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
  logFormat: "text" | "json";
  peer: boolean;
  proxyTools: boolean;
  services: Record<string, ServiceSpec>;
  hosts: HostSpec[];
  hostsFile?: string;
  local: boolean;
  groups: Record<string, string[]>;
  probeTtlSeconds: number;
  peerTimeoutSeconds: number;
  sshTimeoutSeconds: number;
  auditLog?: string;
  /** Serve the runner supervisor's HTTP API beside /mcp (with --http). */
  runnerApi: boolean;
  /** Bound on the wait of a session's first lists for the services started at start-up. */
  startupWaitSeconds: number;
  /** Bound on a 2026-07-28 client's return with the input a legacy service asked for (server-bridge.ts). */
  inputWaitSeconds: number;
  /** Service name -> the name a client config gave it, for names outside the service name rule. */
  serviceAliases: Record<string, string>;
  /** What loading the config changed or ignored (renamed services, client-only keys): logged once at start. */
  notes: string[];
  configFile?: string;
  /** Where each setting came from (dotted key -> default / file / env / flag). */
  origins: Record<string, ValueOrigin>;
}

// In its own module so that the entry can report flag mistakes before zod and the schemas load.
export { ConfigError } from "./config-error.js";

export interface ConfigSources {
  file?: string;
  env: NodeJS.ProcessEnv;
  flags: Partial<{
    http: string | true;
    token: string;
    stateDir: string;
    logLevel: string;
    logFormat: string;
    peer: boolean;
    hostsFile: string;
    noProxyTools: boolean;
    followState: boolean;
  }>;
}

const DEFAULT_HTTP_HOST = "127.0.0.1";
const DEFAULT_HTTP_PORT = 8090;

/** Parses a config file's text; errors name the file and the key. */
export function parseConfigFile(text: string, where: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${where}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${where}: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** Names each failing key with its path (`http.port: expected number, received string`). */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.map(String).join(".");
      if (i.code === "unrecognized_keys") {
        const keys = (i as { keys: string[] }).keys.map((k) => (path ? `${path}.${k}` : k));
        return `unknown key ${keys.map((k) => `'${k}'`).join(", ")}`;
      }
      return `${path || "(root)"}: ${i.message}`;
    })
    .join("; ");
}

/** Splits `[HOST:]PORT` (IPv6 in brackets) into host and port. */
export function parseListen(value: string, what = "--http"): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new ConfigError(`${what}: expected [HOST:]PORT such as 8090 or 127.0.0.1:8090, got '${value}'`);
  }
  const host = m[1] ? m[1].replace(/^\[|\]$/g, "") : DEFAULT_HTTP_HOST;
  return { host, port };
}

function numberFromEnv(env: NodeJS.ProcessEnv, key: string): number | undefined {
  const v = env[key];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${key}: expected a positive number of seconds, got '${v}'`);
  return n;
}

function boolFromEnv(env: NodeJS.ProcessEnv, key: string): boolean | undefined {
  const v = env[key];
  if (v === undefined || v === "") return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(`${key}: expected 1 or 0 (true or false), got '${v}'`);
}

/** Where a setting's value came from, for --print-config. */
export type ValueOrigin = "default" | "file" | "env" | "flag";

/** defaults < file < env < flags, validated into one Config. */
export function loadConfig(src: ConfigSources): Config {
  const file: ConfigFile = src.file ? parseConfigFile(readText(src.file), src.file) : {};
  const env = src.env;
  const flags = src.flags;
  const origins: Record<string, ValueOrigin> = {};
  // The first candidate that is set wins; candidates are given highest precedence first.
  const pick = <T>(key: string, fallback: T, ...candidates: Array<[T | undefined, ValueOrigin]>): T => {
    for (const [value, origin] of candidates) {
      if (value !== undefined) {
        origins[key] = origin;
        return value;
      }
    }
    origins[key] = "default";
    return fallback;
  };

  const logLevel = pick<string>("logLevel", "info", [flags.logLevel, "flag"], [env.MCP_HERD_LOG_LEVEL || undefined, "env"], [file.logLevel, "file"]);
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError(`log level: expected debug, info, warn or error, got '${logLevel}'`);
  }
  const logFormat = pick<string>("logFormat", "text", [flags.logFormat, "flag"], [env.MCP_HERD_LOG_FORMAT || undefined, "env"], [file.logFormat, "file"]);
  if (!["text", "json"].includes(logFormat)) {
    throw new ConfigError(`log format: expected text or json, got '${logFormat}'`);
  }

  const listen = typeof flags.http === "string" ? parseListen(flags.http) : undefined;
  const host = pick("http.host", DEFAULT_HTTP_HOST, [listen?.host, "flag"], [file.http?.host, "file"]);
  const port = pick("http.port", DEFAULT_HTTP_PORT, [listen?.port, "flag"], [file.http?.port, "file"]);

  const token = pick<string | undefined>("token", undefined, [flags.token, "flag"], [env.MCP_HERD_TOKEN || undefined, "env"], [file.token, "file"]);
  if (token !== undefined && token.length < 16) {
    throw new ConfigError("token: use at least 16 characters (for example: openssl rand -hex 32)");
  }

  const stateHome = env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  const adopted = adoptClientEntries<ServiceSpec>(
    [
      ["mcpServers", file.mcpServers],
      ["servers", file.servers],
    ],
    new Set(Object.keys(file.services ?? {})),
  );
  const services: Record<string, ServiceSpec> = { ...adopted.services, ...(file.services ?? {}) };
  for (const name of Object.keys(services)) {
    if (!NAME.test(name)) throw new ConfigError(`services.${name}: service names match ^[a-z0-9][a-z0-9_-]{0,62}$`);
  }
  const notes = [...adopted.notes];
  if (file.inputs) notes.push("ignored 'inputs' (VS Code input prompts): give the values in env instead");
  origins.services = file.services || file.mcpServers || file.servers ? "file" : "default";
  origins.hosts = file.hosts ? "file" : "default";

  return {
    mode: flags.http !== undefined ? "http" : "stdio",
    http: {
      host,
      port,
      maxBodyBytes: pick("http.maxBodyBytes", 4 * 1024 * 1024, [file.http?.maxBodyBytes, "file"]),
      sessionIdleSeconds: pick("http.sessionIdleSeconds", 30 * 60, [file.http?.sessionIdleSeconds, "file"]),
      bodyTimeoutSeconds: pick("http.bodyTimeoutSeconds", 30, [file.http?.bodyTimeoutSeconds, "file"]),
      maxSessions: pick("http.maxSessions", 256, [file.http?.maxSessions, "file"]),
      allowedHosts: pick<string[]>("http.allowedHosts", [], [file.http?.allowedHosts, "file"]),
      allowedOrigins: pick<string[]>("http.allowedOrigins", [], [file.http?.allowedOrigins, "file"]),
    },
    token,
    tokens: pick<Array<{ name: string; token: string }>>("tokens", [], [file.tokens, "file"]),
    stateDir: pick("stateDir", join(stateHome, "mcp-herd"), [flags.stateDir, "flag"], [env.MCP_HERD_STATE_DIR || undefined, "env"], [file.stateDir, "file"]),
    followState: pick("followState", false, [flags.followState, "flag"], [boolFromEnv(env, "MCP_HERD_FOLLOW_STATE"), "env"], [file.followState, "file"]),
    logLevel: logLevel as Config["logLevel"],
    logFormat: logFormat as Config["logFormat"],
    peer: pick("peer", false, [flags.peer, "flag"], [file.peer, "file"]),
    proxyTools: pick("proxyTools", true, [flags.noProxyTools ? false : undefined, "flag"], [file.proxyTools, "file"]),
    services,
    hosts: file.hosts ?? [],
    hostsFile: pick<string | undefined>("hostsFile", undefined, [flags.hostsFile, "flag"], [env.LMCP_HUB_BACKENDS || undefined, "env"], [file.hostsFile, "file"]),
    local: pick("local", true, [file.local, "file"]),
    groups: pick<Record<string, string[]>>("groups", {}, [file.groups, "file"]),
    probeTtlSeconds: pick("probeTtlSeconds", 30, [numberFromEnv(env, "LMCP_HUB_PROBE_TTL"), "env"], [file.probeTtlSeconds, "file"]),
    peerTimeoutSeconds: pick("peerTimeoutSeconds", 6, [numberFromEnv(env, "LMCP_HUB_LMCP_TIMEOUT"), "env"], [file.peerTimeoutSeconds, "file"]),
    sshTimeoutSeconds: pick("sshTimeoutSeconds", 10, [numberFromEnv(env, "LMCP_HUB_SSH_TIMEOUT"), "env"], [file.sshTimeoutSeconds, "file"]),
    auditLog: pick<string | undefined>("auditLog", undefined, [file.auditLog, "file"]),
    runnerApi: pick("runnerApi", false, [file.runnerApi, "file"]),
    startupWaitSeconds: pick("startupWaitSeconds", 15, [file.startupWaitSeconds, "file"]),
    inputWaitSeconds: pick("inputWaitSeconds", 600, [file.inputWaitSeconds, "file"]),
    serviceAliases: adopted.aliases,
    notes,
    configFile: src.file,
    origins,
  };
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`--config ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** True for 127.0.0.0/8, ::1 and localhost: addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === "::ffff:127.0.0.1";
}
