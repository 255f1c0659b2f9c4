import { z } from "zod";
import { errorResult, textResult, type ToolResult } from "../backends/backend.js";
import type { HostHub } from "../hosts/hub.js";
import type { HostStatus } from "../hosts/probe.js";
import {
  HOST_TOOL_NAMES,
  hostToolAnnotations,
  hostToolDescriptions,
  hostToolOutputShapes,
  hostToolShapes,
  hostToolTitles,
  type HostToolName,
} from "../hosts/toolset-schemas.js";
import { defineTool, type AnyToolDef } from "./define.js";

const hostArg = z
  .string()
  .min(1)
  .describe("Name of the host to run on, as remote_list_hosts shows it ('local' is this machine).");

const via = z.enum(["peer", "ssh", "local"]).describe("Which path served the call: the host's MCP peer, SSH, or this machine.");

/** remote_X output: X's fields (absent when an lmcp peer answered with text only) and always `via`. */
function remoteOutput(name: HostToolName): z.ZodRawShape {
  const shape = Object.fromEntries(Object.entries(hostToolOutputShapes[name]).map(([k, v]) => [k, (v as z.ZodType).optional()]));
  return { ...shape, via };
}

/** Keeps only the fields the output schema knows (a peer of another version may send more). */
function fitOutput(result: ToolResult, name: HostToolName): ToolResult {
  if (result.isError || !result.structuredContent) return result;
  const known = new Set([...Object.keys(hostToolOutputShapes[name]), "via"]);
  const picked = Object.fromEntries(Object.entries(result.structuredContent).filter(([k]) => known.has(k)));
  const parsed = z.object(remoteOutput(name)).safeParse(picked);
  return { ...result, structuredContent: parsed.success ? picked : { via: picked.via } };
}

const statusShape = {
  hosts: z.array(
    z.object({
      name: z.string(),
      state: z.enum(["UP", "DOWN"]),
      via: z.string().optional(),
      paths: z.array(
        z.object({
          kind: z.string(),
          ok: z.boolean(),
          latency_ms: z.number(),
          error: z.string().optional(),
          tool_count: z.number().optional(),
        }),
      ),
      error: z.string().optional(),
      tool_count: z.number().optional(),
      latency_ms: z.number().optional(),
      since: z.string(),
      checked_at: z.string(),
      failures: z.number(),
      origin: z.string(),
    }),
  ),
  problems: z.array(z.object({ where: z.string(), message: z.string() })),
  ttl_s: z.number(),
};

/** One line per host in the lmcp hub's layout, plus latency, tools and since. */
function statusLine(s: HostStatus): string {
  const paths = s.paths.map((p) => p.kind).join(",");
  const extra = [s.latency_ms !== undefined ? `${s.latency_ms}ms` : "", s.tool_count !== undefined ? `tools=${s.tool_count}` : "", `since=${s.since}`];
  return `${s.name.padEnd(14)} ${s.state.padEnd(6)} via=${(s.via ?? "-").padEnd(5)} paths=${paths} ${extra.filter(Boolean).join(" ")}${s.error ? ` [${s.error}]` : ""}`;
}

/** The hub's tools: remote_list_hosts and remote_X for each host tool X. */
export function remoteTools(hub: HostHub): AnyToolDef[] {
  const list = defineTool({
    name: "remote_list_hosts",
    title: "List fleet hosts",
    description:
      "Lists every registered host with UP/DOWN, the path that answers (peer, ssh, local), each path's error, tool count, " +
      "latency and since when. Answers from a cache (30 s by default); force: true re-probes every host now, in parallel. " +
      "Also lists lines of the host registry that could not be used.",
    input: { force: z.boolean().optional().describe("Re-probe every host now instead of answering from the cache (default false).") },
    output: statusShape,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    async handler({ force }) {
      const hosts = await hub.probes.statuses(force ?? false);
      const problems = hub.registry.problems;
      const lines = hosts.map(statusLine);
      if (!hosts.length) lines.push("no hosts: add some with --hosts FILE or \"hosts\" in the config");
      if (problems.length) lines.push("registry problems:", ...problems.map((p) => `  ${p.where}: ${p.message}`));
      return textResult(lines.join("\n"), { hosts, problems, ttl_s: hub.ttlSeconds });
    },
  });
  const calls = HOST_TOOL_NAMES.map((name) =>
    defineTool({
      name: `remote_${name}`,
      title: `${hostToolTitles[name]} on a fleet host`,
      description:
        `${hostToolDescriptions[name]} Runs on the named host through its MCP peer, falling back to SSH when the peer ` +
        "cannot be reached (never when the tool itself fails); the result's `via` says which path served it.",
      input: { host: hostArg, ...hostToolShapes[name] },
      output: remoteOutput(name),
      annotations: { ...hostToolAnnotations[name], openWorldHint: true },
      async handler(args, ctx) {
        const { host, ...rest } = args as { host: string } & Record<string, unknown>;
        try {
          const result = await hub.router.call(host, name, rest, {
            signal: ctx.signal,
            ...(ctx.wantsProgress ? { onProgress: (p) => ctx.progress(p) } : {}),
          });
          return fitOutput(result, name);
        } catch (e) {
          return errorResult(`remote_${name} on host '${host}' failed: ${(e as Error).message}`);
        }
      },
    }),
  );
  return [list, ...calls];
}
