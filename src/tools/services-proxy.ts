import { errorResult, type ToolInfo, type ToolResult } from "../backends/backend.js";
import type { Config } from "../config.js";
import type { ServiceRegistry } from "../services/registry.js";
import type { Supervised } from "../services/service-types.js";
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

// A service between two runs keeps its tools listed: a call then says it is restarting, and clients see no list churn.
const BETWEEN_RUNS = new Set(["restarting", "starting"]);

const SERVED = new Set(["name", "title", "description", "inputSchema", "outputSchema", "annotations"]);

// Whatever else a tool carries (_meta, execution, icons, fields of later spec versions) is served as it came.
function rest(t: object): Record<string, unknown> | undefined {
  const out = Object.fromEntries(Object.entries(t).filter(([k]) => !SERVED.has(k)));
  return Object.keys(out).length ? out : undefined;
}

/**
 * Serves every running service's tools as <service>__<tool> with the service's own schemas. A
 * restarting service's tools stay listed, and any <service>__<tool> of a service that is loaded
 * but not running answers isError saying its state and when it is expected back.
 */
export function serviceToolProvider(registry: ServiceRegistry, config: Pick<Config, "proxyTools">): ToolProvider {
  const listeners = new Set<() => void>();
  let last = "";
  let unsubscribe: (() => void) | undefined;
  const lastRun = new WeakMap<object, ToolInfo[]>();

  const toolsOf = (svc: Supervised): ToolInfo[] => {
    if (svc.state === "running") {
      lastRun.set(svc, svc.tools);
      return svc.tools;
    }
    return BETWEEN_RUNS.has(svc.state) ? (lastRun.get(svc) ?? []) : [];
  };

  const list = (): RawTool[] => {
    if (!config.proxyTools) return [];
    const out: RawTool[] = [];
    for (const svc of registry.list()) {
      const service = svc.name;
      for (const t of toolsOf(svc)) {
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

  const resolve = (name: string): RawTool | undefined => {
    if (!config.proxyTools) return undefined;
    const svc = registry.list().find((s) => s.state !== "running" && name.startsWith(`${s.name}__`) && name.length > s.name.length + 2);
    if (!svc) return undefined;
    const tool = name.slice(svc.name.length + 2);
    return {
      name,
      description: `[${svc.name}] (not running)`,
      inputSchema: { type: "object" },
      call: (args, ctx) => callThrough(registry, svc.name, tool, args, ctx),
    };
  };

  return {
    list,
    resolve,
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
