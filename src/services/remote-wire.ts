import type { ToolInfo } from "../backends/backend.js";
import type { ServiceSpec } from "../config.js";

/** Keys of a spec that another mcp-herd's service_load accepts (not `host`: there it is local). */
const PEER_KEYS = [
  "path", "git", "ref", "npm", "python", "command", "args", "url", "headers",
  "env", "cwd", "runtime", "install", "allow_scripts", "inherit_env", "timeout_ms",
] as const;

/** The arguments of the peer's service_load for this spec. */
export function specForPeer(spec: ServiceSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of PEER_KEYS) if (spec[k] !== undefined) out[k] = spec[k];
  return out;
}

/** One match of service_tools, as the peer's structuredContent carries it. */
interface WireTool {
  tool: string;
  title?: string;
  description?: string;
  input_schema?: Record<string, unknown>;
  output_schema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/** The tools of a service from a peer's service_tools answer, schemas untouched. */
export function remoteTools(structured: unknown): ToolInfo[] {
  const list = (structured as { tools?: WireTool[] } | undefined)?.tools ?? [];
  return list.map((t) => {
    const info: ToolInfo = {
      name: t.tool,
      description: t.description ?? "",
      inputSchema: (t.input_schema ?? { type: "object" }) as ToolInfo["inputSchema"],
    };
    if (t.title) info.title = t.title;
    if (t.output_schema) info.outputSchema = t.output_schema as ToolInfo["outputSchema"];
    if (t.annotations) info.annotations = t.annotations as ToolInfo["annotations"];
    return info;
  });
}

/** A service's tools recovered from a peer's proxied `<service>__<tool>` tools. */
export function stripToolPrefix(service: string, tools: ToolInfo[]): ToolInfo[] {
  const prefix = `${service}__`;
  const tag = `[${service}] `;
  return tools
    .filter((t) => t.name.startsWith(prefix))
    .map((t) => ({
      ...t,
      name: t.name.slice(prefix.length),
      description: t.description?.startsWith(tag) ? t.description.slice(tag.length) : t.description,
    }));
}
