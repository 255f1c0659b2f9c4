import { readFileSync, realpathSync, statSync } from "node:fs";
import { childEnv } from "./backends/child/env.js";
import { spawnEarly } from "./backends/child/spawn.js";
import type { ServiceSpec } from "./config.js";
import { validateSpec } from "./services/validate.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string");
const isStringMap = (v: unknown): v is Record<string, string> => isObject(v) && Object.values(v).every((s) => typeof s === "string");

// Every value that could be one of mcp-herd's secrets: more than the supervisor filters costs an early start, never a leak.
function secretsOf(file: Json, token: string | undefined, env: NodeJS.ProcessEnv): string[] {
  const out = [token, env.MCP_HERD_TOKEN, file.token];
  if (Array.isArray(file.tokens)) for (const t of file.tokens) out.push(isObject(t) ? t.token : undefined);
  if (Array.isArray(file.hosts)) for (const h of file.hosts) out.push(isObject(h) && isObject(h.peer) ? h.peer.token : undefined);
  return out.filter((s): s is string => typeof s === "string" && s.length > 0);
}

// A service this machine runs as a plain command, with nothing to install: exactly what the supervisor would spawn, or undefined.
function commandOf(entry: unknown, secrets: string[], env: NodeJS.ProcessEnv) {
  if (!isObject(entry) || typeof entry.command !== "string" || entry.disabled === true || entry.host !== undefined) return undefined;
  if ((entry.type ?? entry.transportType ?? "stdio") !== "stdio") return undefined;
  if (entry.args !== undefined && !isStrings(entry.args)) return undefined;
  if (entry.env !== undefined && !isStringMap(entry.env)) return undefined;
  if (entry.cwd !== undefined && typeof entry.cwd !== "string") return undefined;
  if (entry.inherit_env !== undefined && typeof entry.inherit_env !== "boolean") return undefined;
  const spec = entry as ServiceSpec;
  try {
    validateSpec("early", spec);
    const cwd = spec.cwd !== undefined && statSync(spec.cwd).isDirectory() ? realpathSync(spec.cwd) : undefined;
    if (spec.cwd !== undefined && cwd === undefined) return undefined;
    const extra = { ...(spec.env ?? {}) };
    return { command: spec.command!, args: [...(spec.args ?? [])], cwd, env: childEnv(env, { inherit: spec.inherit_env !== false, extra, secrets }) };
  } catch {
    return undefined;
  }
}

/**
 * Starts the config file's command services before the rest of mcp-herd loads: our modules take
 * about as long to load as a small MCP server takes to start, so the two overlap. The supervisor
 * adopts an early child only when it would start the very same command, arguments, folder and
 * environment (backends/child/spawn.ts); the others are stopped once start-up is over. Never
 * throws: the config file is read and validated again, properly, right after.
 */
export function startEarly(file: string | undefined, token: string | undefined, env: NodeJS.ProcessEnv): number {
  if (!file) return 0;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return 0;
  }
  if (!isObject(raw)) return 0;
  const secrets = secretsOf(raw, token, env);
  let started = 0;
  for (const group of [raw.services, raw.mcpServers, raw.servers]) {
    if (!isObject(group)) continue;
    for (const entry of Object.values(group)) {
      const c = commandOf(entry, secrets, env);
      if (!c) continue;
      spawnEarly(c);
      started++;
    }
  }
  return started;
}
