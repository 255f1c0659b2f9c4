import { z } from "zod";
import { errorResult, textResult } from "../backends/backend.js";
import type { ServiceRegistry } from "../services/registry.js";
import { searchTools } from "../services/search.js";
import { defineTool, type AnyToolDef } from "./define.js";
import { proxiedName } from "./services-proxy.js";

const json = z.record(z.string(), z.unknown());

/** service_tools: search the tools of loaded services, with their schemas, for clients that do not list them all. */
export function serviceSearchTool(registry: ServiceRegistry): AnyToolDef {
  return defineTool({
    name: "service_tools",
    title: "Search the tools of loaded services",
    description:
      "Finds tools of loaded services by words in their name or description and returns each with its input schema, " +
      "so you can call it with service_call { name, tool, arguments } without listing every proxied tool. " +
      "Without a query it lists the tools of one service (name) or of all services.",
    input: {
      name: z.string().optional().describe("Only the tools of this service."),
      query: z.string().optional().describe("Words that must all appear in the tool's name or description, e.g. \"read file\"; case-insensitive."),
      limit: z.number().int().min(1).max(1000).optional().describe("At most this many matches, best first (default 20)."),
    },
    output: {
      total: z.number(),
      tools: z.array(
        z.object({
          service: z.string(),
          host: z.string(),
          tool: z.string(),
          proxied_name: z.string().nullable(),
          title: z.string().optional(),
          description: z.string(),
          input_schema: json,
          output_schema: json.optional(),
          annotations: json.optional(),
        }),
      ),
    },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async handler({ name, query, limit }) {
      const services = registry.list().filter((s) => name === undefined || s.name === name);
      if (name !== undefined && services.length === 0) return errorResult(`service_tools: no service named '${name}' is loaded; service_list shows the loaded ones`);
      const all = searchTools(services, query);
      const shown = all.slice(0, limit ?? 20);
      const tools = shown.map((m) => ({
        service: m.service,
        host: m.host,
        tool: m.tool.name,
        proxied_name: proxiedName(m.service, m.tool.name) ?? null,
        ...(m.tool.title ? { title: m.tool.title } : {}),
        description: m.tool.description ?? "",
        input_schema: m.tool.inputSchema as Record<string, unknown>,
        ...(m.tool.outputSchema ? { output_schema: m.tool.outputSchema as Record<string, unknown> } : {}),
        ...(m.tool.annotations ? { annotations: m.tool.annotations as Record<string, unknown> } : {}),
      }));
      const where = name ? ` of '${name}'` : "";
      if (!tools.length) {
        const hint = services.some((s) => s.tools.length) ? "try fewer or other words" : "no loaded service has tools yet; see service_list";
        return textResult(`no tools${where} match${query ? ` "${query}"` : ""}: ${hint}`, { total: 0, tools: [] });
      }
      const lines = tools.map((t) => {
        const args = Object.keys((t.input_schema.properties as Record<string, unknown> | undefined) ?? {});
        const req = new Set((t.input_schema.required as string[] | undefined) ?? []);
        const sig = args.map((a) => (req.has(a) ? a : `${a}?`)).join(", ");
        return `${t.service} / ${t.tool}(${sig}): ${t.description.split("\n")[0]!.slice(0, 160)}`;
      });
      const more = all.length > tools.length ? `\n(${all.length - tools.length} more; raise limit or narrow the query)` : "";
      const head = `${all.length} tool(s)${where}${query ? ` matching "${query}"` : ""}; call one with service_call { name: <service>, tool, arguments }. Schemas are in structuredContent.`;
      return textResult([head, ...lines].join("\n") + more, { total: all.length, tools });
    },
  });
}
