import { z } from "zod";
import { textResult } from "../backends/backend.js";
import type { App } from "../app.js";
import { defineTool, type AnyToolDef } from "./define.js";

/** Tools about mcp-herd itself. */
export function herdTools(app: App): AnyToolDef[] {
  return [
    defineTool({
      name: "herd_status",
      title: "mcp-herd status",
      description:
        "Shows this mcp-herd's version, uptime and how many services and hosts it manages. " +
        "Use it to check that the server answers; use service_list and remote_list_hosts for details.",
      input: {},
      output: {
        version: z.string(),
        uptime_s: z.number(),
        services: z.number(),
        hosts: z.number(),
        peer_mode: z.boolean(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async handler() {
        const h = app.health();
        const data = {
          version: app.version,
          uptime_s: Math.round((Date.now() - app.startedAt) / 1000),
          services: h.services,
          hosts: h.hosts,
          peer_mode: app.config.peer,
        };
        return textResult(
          `mcp-herd ${data.version}, up ${data.uptime_s}s, ${data.services} service(s), ${data.hosts} host(s)` +
            (data.peer_mode ? ", peer mode" : ""),
          data,
        );
      },
    }),
  ];
}
