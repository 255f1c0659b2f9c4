import { errorResult, type ToolResult } from "../backends/backend.js";
import type { Config } from "../config.js";
import type { ServiceRegistry } from "../services/registry.js";
import type { RawTool, ToolContext, ToolProvider } from "./define.js";

const PROXIED_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_DESCRIPTION = 4096;

/** The name a service's tool is served under, or undefined when that name would be invalid. */
export function proxiedName(service: string, tool: string): string | undefined {
  const name = `${service}__${tool}`;
  return PROXIED_NAME.test(name) ? name : undefined;
}

/** Calls a service's tool on behalf of our caller: progress and cancellation pass through, failures become isError. */
export async function callThrough(
  registry: ServiceRegistry,
  name: string,
  tool: string,
  args: Record<string, unknown>,
  ctx: ToolContext,
  timeoutMs?: number,
): Promise<ToolResult> {
  try {
    // The server leaves the last progress notification a moment on the wire before the result.
    return await registry.call(name, tool, args, {
      signal: ctx.signal,
      timeoutMs,
      onProgress: ctx.wantsProgress ? (p) => ctx.progress(p) : undefined,
      client: ctx.client,
    });
  } catch (e) {
    return errorResult((e as Error)?.message ?? String(e));
  }
}

const SERVED = new Set(["name", "title", "description", "inputSchema", "outputSchema", "annotations"]);

// Whatever else a tool carries (_meta, execution, icons, fields of later spec versions) is served as it came.
function rest(t: object): Record<string, unknown> | undefined {
  const out = Object.fromEntries(Object.entries(t).filter(([k]) => !SERVED.has(k)));
  return Object.keys(out).length ? out : undefined;
}

/** Serves every running service's tools as <service>__<tool> with the service's own schemas. */
export function serviceToolProvider(registry: ServiceRegistry, config: Pick<Config, "proxyTools">): ToolProvider {
  const listeners = new Set<() => void>();
  let last = "";
  let unsubscribe: (() => void) | undefined;

  const list = (): RawTool[] => {
    if (!config.proxyTools) return [];
    const out: RawTool[] = [];
    for (const svc of registry.list()) {
      if (svc.state !== "running") continue;
      const service = svc.name;
      for (const t of svc.tools) {
        const name = proxiedName(service, t.name);
        if (!name) continue;
        const desc = `[${service}] ${t.description ?? ""}`;
        const raw: RawTool = {
          name,
          description: desc.length > MAX_DESCRIPTION ? desc.slice(0, MAX_DESCRIPTION - 1) + "…" : desc,
          inputSchema: t.inputSchema as RawTool["inputSchema"],
          call: (args, ctx) => callThrough(registry, service, t.name, args, ctx),
          route: { service, tool: t.name },
        };
        if (t.title) raw.title = t.title;
        if (t.outputSchema) raw.outputSchema = t.outputSchema as RawTool["outputSchema"];
        if (t.annotations) raw.annotations = t.annotations as RawTool["annotations"];
        const more = rest(t);
        if (more) raw.more = more;
        out.push(raw);
      }
    }
    return out;
  };

  const signature = () =>
    list()
      .map((t) => `${t.name}\u0000${t.description}\u0000${JSON.stringify(t.inputSchema)}\u0000${JSON.stringify(t.more ?? null)}`)
      .join("\u0001");

  return {
    list,
    onChange(listener) {
      listeners.add(listener);
      if (!unsubscribe) {
        last = signature();
        unsubscribe = registry.onChange(() => {
          const now = signature();
          if (now === last) return;
          last = now;
          for (const l of listeners) l();
        });
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && unsubscribe) {
          unsubscribe();
          unsubscribe = undefined;
        }
      };
    },
  };
}
