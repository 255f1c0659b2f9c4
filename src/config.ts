import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** One supervised service; also accepts a Claude Desktop `mcpServers` entry (command/args/env). */
export const serviceSpecSchema = z
  .strictObject({
    path: z.string().min(1).optional(),
    git: z.string().min(1).optional(),
    ref: z.string().min(1).optional(),
    npm: z.string().min(1).optional(),
    python: z.string().min(1).optional(),
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    url: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
    runtime: z.enum(["node", "bun", "python"]).optional(),
    install: z.boolean().optional(),
    allow_scripts: z.boolean().optional(),
    inherit_env: z.boolean().optional(),
    timeout_ms: z.number().int().positive().optional(),
    host: z.string().optional(),
    type: z.enum(["stdio", "http", "streamable-http"]).optional(),
    disabled: z.boolean().optional(),
  });
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;

export const sshSpecSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).optional(),
  identityFile: z.string().min(1).optional(),
  knownHostsFile: z.string().min(1).optional(),
  acceptNewHostKey: z.boolean().optional(),
  proxyJump: z.string().optional(),
});

export const peerSpecSchema = z.strictObject({
  url: z.string().url(),
  token: z.string().optional(),
});

export const hostSpecSchema = z.strictObject({
  name: z.string().regex(HOST_NAME, "host names are letters, digits, '.', '_' and '-'"),
  ssh: sshSpecSchema.optional(),
  peer: peerSpecSchema.optional(),
});
export type HostSpec = z.infer<typeof hostSpecSchema>;

/** The config file: every key optional, unknown keys refused. */
export const configFileSchema = z.strictObject({
  $schema: z.string().optional(),
  http: z
    .strictObject({
      host: z.string().optional(),
      port: z.number().int().min(0).max(65535).optional(),
      maxBodyBytes: z.number().int().positive().optional(),
      sessionIdleSeconds: z.number().positive().optional(),
      maxSessions: z.number().int().positive().optional(),
      allowedHosts: z.array(z.string()).optional(),
      allowedOrigins: z.array(z.string()).optional(),
    })
    .optional(),
  token: z.string().min(16, "use at least 16 characters").optional(),
  tokens: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "token names are letters, digits, '.', '_' and '-'"),
        token: z.string().min(16, "use at least 16 characters"),
      }),
    )
    .optional(),
  stateDir: z.string().optional(),
  logLevel: z.enum(["debug", "info", "warn", "error"]).optional(),
  logFormat: z.enum(["text", "json"]).optional(),
  peer: z.boolean().optional(),
  proxyTools: z.boolean().optional(),
  services: z.record(z.string().regex(NAME, "service names match ^[a-z0-9][a-z0-9_-]{0,62}$"), serviceSpecSchema).optional(),
  mcpServers: z.record(z.string(), serviceSpecSchema).optional(),
  hosts: z.array(hostSpecSchema).optional(),
  hostsFile: z.string().optional(),
  local: z.boolean().optional(),
  groups: z.record(z.string(), z.array(z.string())).optional(),
  probeTtlSeconds: z.number().positive().optional(),
  peerTimeoutSeconds: z.number().positive().optional(),
  sshTimeoutSeconds: z.number().positive().optional(),
  auditLog: z.string().optional(),
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
    maxSessions: number;
    allowedHosts: string[];
    allowedOrigins: string[];
  };
  token?: string;
  /** Named tokens; the name identifies the caller in the audit log and binds its sessions. */
  tokens: Array<{ name: string; token: string }>;
  stateDir: string;
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
  configFile?: string;
  /** Where each setting came from (dotted key -> default / file / env / flag). */
  origins: Record<string, ValueOrigin>;
}

/** A configuration problem; the message names the key (or flag / variable) and what is wrong. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

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
  }>;
}

export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 8090;

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
  const services: Record<string, ServiceSpec> = { ...(file.mcpServers ?? {}), ...(file.services ?? {}) };
  for (const name of Object.keys(services)) {
    if (!NAME.test(name)) throw new ConfigError(`services.${name}: service names match ^[a-z0-9][a-z0-9_-]{0,62}$`);
  }
  origins.services = file.services || file.mcpServers ? "file" : "default";
  origins.hosts = file.hosts ? "file" : "default";

  return {
    mode: flags.http !== undefined ? "http" : "stdio",
    http: {
      host,
      port,
      maxBodyBytes: pick("http.maxBodyBytes", 4 * 1024 * 1024, [file.http?.maxBodyBytes, "file"]),
      sessionIdleSeconds: pick("http.sessionIdleSeconds", 30 * 60, [file.http?.sessionIdleSeconds, "file"]),
      maxSessions: pick("http.maxSessions", 256, [file.http?.maxSessions, "file"]),
      allowedHosts: pick<string[]>("http.allowedHosts", [], [file.http?.allowedHosts, "file"]),
      allowedOrigins: pick<string[]>("http.allowedOrigins", [], [file.http?.allowedOrigins, "file"]),
    },
    token,
    tokens: pick<Array<{ name: string; token: string }>>("tokens", [], [file.tokens, "file"]),
    stateDir: pick("stateDir", join(stateHome, "mcp-herd"), [flags.stateDir, "flag"], [env.MCP_HERD_STATE_DIR || undefined, "env"], [file.stateDir, "file"]),
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
