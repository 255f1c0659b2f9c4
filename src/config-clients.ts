import { z } from "zod";

/** What a service may be called: safe as a tool prefix, a folder name and in log lines. */
export const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Keys MCP clients (Claude Desktop, Claude Code, Cursor, Cline, VS Code, Gemini CLI) keep in their server
 * entries for their own use: approval lists, client timeouts, UI hints. mcp-herd has no approval prompt
 * and its own bounds, so it accepts and ignores them rather than refusing a pasted config.
 */
export const CLIENT_ONLY_KEYS = [
  "alwaysAllow",
  "autoApprove",
  "timeout",
  "disabledTools",
  "autoStart",
  "description",
  "envFile",
  "dev",
  "trust",
  "includeTools",
  "excludeTools",
] as const;

/** The `type` values clients write; "streamableHttp" (Cline) means streamable HTTP. */
export const CLIENT_TYPES = ["stdio", "http", "streamable-http", "streamableHttp", "sse"] as const;

/** A client's server entry: our service keys plus the client-only ones (any value) and Cline's `transportType`. */
export function clientEntrySchema<S extends z.ZodObject>(service: S) {
  const extra: Record<string, z.ZodType> = {
    type: z.enum(CLIENT_TYPES).optional().describe("Transport as the client names it: stdio, http, streamable-http (streamableHttp) or sse."),
    transportType: z.enum(CLIENT_TYPES).optional().describe("Cline's name for type."),
  };
  for (const k of CLIENT_ONLY_KEYS) extra[k] = z.unknown().optional().describe("A client-only key: accepted and ignored (with one warning).");
  return service.extend(extra);
}

/** What adopting client entries produced: specs under valid names, the renames, and one warning. */
export interface Adopted<Spec> {
  services: Record<string, Spec>;
  /** Our service name -> the name as the client config wrote it (only renamed ones). */
  aliases: Record<string, string>;
  notes: string[];
}

/** Turns client server entries (`mcpServers`, VS Code `servers`) into service specs: names mapped, client-only keys dropped. */
export function adoptClientEntries<Spec>(
  groups: Array<[where: string, entries: Record<string, Record<string, unknown>> | undefined]>,
  reserved: ReadonlySet<string>,
): Adopted<Spec> {
  const services: Record<string, Spec> = {};
  const aliases: Record<string, string> = {};
  const ignored: string[] = [];
  const notes: string[] = [];
  const taken = new Set(reserved);
  const all = groups.flatMap(([where, entries]) => Object.entries(entries ?? {}).map(([name, e]) => [where, name, e] as const));
  for (const [, name] of all) if (SERVICE_NAME.test(name)) taken.add(name);
  for (const [where, raw, entry] of all) {
    const spec: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry)) {
      if ((CLIENT_ONLY_KEYS as readonly string[]).includes(k)) ignored.push(`${where}.${raw}.${k}`);
      else if (k !== "transportType") spec[k] = v;
    }
    const type = entry.type ?? entry.transportType;
    if (type !== undefined) spec.type = type === "streamableHttp" ? "streamable-http" : type;
    let name = raw;
    if (!SERVICE_NAME.test(raw)) {
      name = mapServiceName(raw, taken);
      taken.add(name);
      aliases[name] = raw;
      notes.push(`${where}.${raw}: served as service '${name}' (service names are lower-case letters, digits, '_' and '-')`);
    }
    services[name] = spec as Spec;
  }
  if (ignored.length) notes.push(`ignored client-only keys (mcp-herd has no approval prompt and its own timeouts): ${ignored.join(", ")}`);
  return { services, aliases, notes };
}

/** A valid service name for one a client allows (upper case, spaces, dots, '@scope/'), unique among `taken`. */
export function mapServiceName(raw: string, taken: ReadonlySet<string>): string {
  const base =
    raw
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .slice(0, 63)
      .replace(/^[-_]+|-+$/g, "") || "server";
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const candidate = `${base.slice(0, 62 - String(i).length)}-${i}`;
    if (!taken.has(candidate)) return candidate;
  }
}
