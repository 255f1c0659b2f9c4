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
        "Shows this mcp-herd's version, uptime, memory and how many services and hosts it manages. " +
        "Use it to check that the server answers; use service_list and remote_list_hosts for details.",
      input: {},
      output: {
        version: z.string(),
        uptime_s: z.number(),
        services: z.number(),
        hosts: z.number(),
        peer_mode: z.boolean(),
        rss_mb: z.number(),
        heap_used_mb: z.number(),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      async handler() {
        const h = app.health();
        // Started with --expose-gc (e.g. NODE_OPTIONS=--expose-gc), the memory figures are taken after a full collection.
        (globalThis as { gc?: () => void }).gc?.();
        const mem = process.memoryUsage();
        const data = {
          version: app.version,
          uptime_s: Math.round((Date.now() - app.startedAt) / 1000),
          services: h.services,
          hosts: h.hosts,
          peer_mode: app.config.peer,
          rss_mb: Math.round((mem.rss / 1048576) * 10) / 10,
          heap_used_mb: Math.round((mem.heapUsed / 1048576) * 10) / 10,
        };
        return textResult(
          `mcp-herd ${data.version}, up ${data.uptime_s}s, ${data.services} service(s), ${data.hosts} host(s), RSS ${data.rss_mb} MB` +
            (data.peer_mode ? ", peer mode" : ""),
          data,
        );
      },
    }),
  ];
}
