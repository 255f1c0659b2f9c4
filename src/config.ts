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

/** defaults < file < env < flags, validated into one Config. */
export function loadConfig(src: ConfigSources): Config {
  const file: ConfigFile = src.file ? parseConfigFile(readText(src.file), src.file) : {};
  const env = src.env;
  const flags = src.flags;

  const logLevel = flags.logLevel ?? env.MCP_HERD_LOG_LEVEL ?? file.logLevel ?? "info";
  if (!["debug", "info", "warn", "error"].includes(logLevel)) {
    throw new ConfigError(`log level: expected debug, info, warn or error, got '${logLevel}'`);
  }
  const logFormat = flags.logFormat ?? env.MCP_HERD_LOG_FORMAT ?? file.logFormat ?? "text";
  if (!["text", "json"].includes(logFormat)) {
    throw new ConfigError(`log format: expected text or json, got '${logFormat}'`);
  }

  let host = file.http?.host ?? DEFAULT_HTTP_HOST;
  let port = file.http?.port ?? DEFAULT_HTTP_PORT;
  if (typeof flags.http === "string") ({ host, port } = parseListen(flags.http));

  const token = flags.token ?? (env.MCP_HERD_TOKEN || undefined) ?? file.token;
  if (token !== undefined && token.length < 16) {
    throw new ConfigError("token: use at least 16 characters (for example: openssl rand -hex 32)");
  }

  const stateHome = env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  const services: Record<string, ServiceSpec> = { ...(file.mcpServers ?? {}), ...(file.services ?? {}) };
  for (const name of Object.keys(services)) {
    if (!NAME.test(name)) throw new ConfigError(`services.${name}: service names match ^[a-z0-9][a-z0-9_-]{0,62}$`);
  }

  return {
    mode: flags.http !== undefined ? "http" : "stdio",
    http: {
      host,
      port,
      maxBodyBytes: file.http?.maxBodyBytes ?? 4 * 1024 * 1024,
      sessionIdleSeconds: file.http?.sessionIdleSeconds ?? 30 * 60,
      maxSessions: file.http?.maxSessions ?? 256,
      allowedHosts: file.http?.allowedHosts ?? [],
      allowedOrigins: file.http?.allowedOrigins ?? [],
    },
    token,
    stateDir: flags.stateDir ?? env.MCP_HERD_STATE_DIR ?? file.stateDir ?? join(stateHome, "mcp-herd"),
    logLevel: logLevel as Config["logLevel"],
    logFormat: logFormat as Config["logFormat"],
    peer: flags.peer ?? file.peer ?? false,
    proxyTools: flags.noProxyTools ? false : (file.proxyTools ?? true),
    services,
    hosts: file.hosts ?? [],
    hostsFile: flags.hostsFile ?? env.LMCP_HUB_BACKENDS ?? file.hostsFile,
    local: file.local ?? true,
    groups: file.groups ?? {},
    probeTtlSeconds: numberFromEnv(env, "LMCP_HUB_PROBE_TTL") ?? file.probeTtlSeconds ?? 30,
    peerTimeoutSeconds: numberFromEnv(env, "LMCP_HUB_LMCP_TIMEOUT") ?? file.peerTimeoutSeconds ?? 6,
    sshTimeoutSeconds: numberFromEnv(env, "LMCP_HUB_SSH_TIMEOUT") ?? file.sshTimeoutSeconds ?? 10,
    auditLog: file.auditLog,
    configFile: src.file,
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
