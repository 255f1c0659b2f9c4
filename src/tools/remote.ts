import { z } from "zod";
import { errorResult, textResult, type Progress, type ToolResult } from "../backends/backend.js";
import { DEFAULT_PARALLEL } from "../hosts/fanout/fanout.js";
import { callHost, runFanout, type HubCallOptions } from "../hosts/fanout/run.js";
import { selectHosts } from "../hosts/fanout/select.js";
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
} from "../hosts/toolset/schemas.js";
import { defineTool, type AnyToolDef } from "./define.js";
import { jobTools } from "./jobs.js";

const hostArg = z
  .string()
  .min(1)
  .describe(
    "Host to run on, as remote_list_hosts shows it ('local' is this machine). remote_shell and remote_read_file also take " +
      "a comma list, a glob ('web-*', '*') or a group name from the config, and then run on every match in parallel.",
  );

const via = z.enum(["peer", "ssh", "local"]).describe("Which path served the call: the host's MCP peer, SSH, or this machine.");

const fanoutInput = {
  parallel: z
    .number()
    .int()
    .min(1)
    .max(256)
    .optional()
    .describe(`With several hosts: how many run at once (default ${DEFAULT_PARALLEL}).`),
};

const shellExtraInput = {
  on_timeout: z
    .enum(["kill", "background"])
    .optional()
    .describe(
      "What happens when the command outruns its timeout: 'kill' (default) ends its process group; 'background' leaves it " +
        "running as a background job and returns the job id and the output so far (follow with remote_job_output).",
    ),
};

const resultEntry = z.object({
  host: z.string(),
  ok: z.boolean(),
  status: z.enum(["ok", "failed", "down"]),
  via: z.string().optional(),
  exit_code: z.number().int().nullable().optional(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  content: z.string().optional(),
  error: z.string().optional(),
  duration_ms: z.number(),
  timed_out: z.boolean().optional(),
  job: z.string().optional(),
});

/** Present only when `host` selected several hosts. */
const fanoutOutput = {
  summary: z.string().optional(),
  host_count: z.number().int().optional(),
  ok_count: z.number().int().optional(),
  failed_count: z.number().int().optional(),
  down_count: z.number().int().optional(),
  worst_exit_code: z.number().int().nullable().optional(),
  results: z.array(resultEntry).optional(),
};

const jobOutput = {
  job: z.string().optional(),
  next_offset: z.number().int().optional(),
  backgrounded: z.boolean().optional(),
};

const FANOUT_TOOLS: ReadonlySet<HostToolName> = new Set(["shell", "read_file"]);

/** remote_X output: X's fields (absent when an lmcp peer answered with text only), `via`, and the fan-out summary. */
function remoteOutput(name: HostToolName): z.ZodRawShape {
  const shape = Object.fromEntries(Object.entries(hostToolOutputShapes[name]).map(([k, v]) => [k, (v as z.ZodType).optional()]));
  if (name === "shell") return { ...shape, via: via.optional(), ...jobOutput, ...fanoutOutput };
  if (name === "read_file") return { ...shape, via: via.optional(), ...fanoutOutput };
  if (name === "shell_bg") return { ...shape, via, job: z.string().optional() };
  return { ...shape, via };
}

/** Keeps only the fields the output schema knows (a peer of another version may send more). */
// zod compiles a schema on its first parse: build each tool's output schema once, not per call.
const outputSchemas = new Map<HostToolName, z.ZodObject>();
function outputSchema(name: HostToolName): z.ZodObject {
  let s = outputSchemas.get(name);
  if (!s) outputSchemas.set(name, (s = z.object(remoteOutput(name))));
  return s;
}

function fitOutput(result: ToolResult, name: HostToolName): ToolResult {
  if (result.isError || !result.structuredContent) return result;
  const known = new Set([...Object.keys(hostToolOutputShapes[name]), "via", ...(name === "shell" ? Object.keys(jobOutput) : name === "shell_bg" ? ["job"] : [])]);
  const picked = Object.fromEntries(Object.entries(result.structuredContent).filter(([k]) => known.has(k)));
  const parsed = outputSchema(name).safeParse(picked);
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
          transport: z.record(z.string(), z.string()).optional().describe("SSH: files sftp|exec, shell bash|sh, commands agent|exec."),
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
  const t = s.paths.find((p) => p.transport)?.transport;
  const extra = [
    s.latency_ms !== undefined ? `${s.latency_ms}ms` : "",
    s.tool_count !== undefined ? `tools=${s.tool_count}` : "",
    t ? `ssh=files:${t.files},shell:${t.shell},commands:${t.commands}` : "",
    `since=${s.since}`,
  ];
  return `${s.name.padEnd(14)} ${s.state.padEnd(6)} via=${(s.via ?? "-").padEnd(5)} paths=${paths} ${extra.filter(Boolean).join(" ")}${s.error ? ` [${s.error}]` : ""}`;
}

/** The hub's tools: remote_list_hosts, remote_X for each host tool X, and the remote_job_* tools. */
export function remoteTools(hub: HostHub): AnyToolDef[] {
  const list = defineTool({
    name: "remote_list_hosts",
    title: "List fleet hosts",
    description:
      "Lists every registered host with UP/DOWN, the path that answers (peer, ssh, local), each path's error, tool count, " +
      "latency and since when. Answers from a cache (30 s by default); force: true re-probes every host now, in parallel. " +
      "Also lists lines of the host registry that could not be used. host narrows the list (a name, comma list, glob or group).",
    input: {
      force: z.boolean().optional().describe("Re-probe every host now instead of answering from the cache (default false)."),
      host: z.string().min(1).optional().describe("Only these hosts: a name, a comma list, a glob ('web-*') or a group name (default: all)."),
    },
    output: statusShape,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    async handler({ force, host }) {
      let names: string[] | undefined;
      if (host !== undefined) {
        const sel = selectHosts(host, hub.registry.names(), hub.groups);
        if (sel.kind === "error") return errorResult(`remote_list_hosts: ${sel.message}`);
        if (sel.kind === "single") {
          const found = hub.router.resolve(sel.name);
          if ("error" in found) return found.error;
        }
        names = sel.kind === "single" ? [sel.name] : sel.names;
      }
      const hosts = await hub.probes.statuses(force ?? false, names);
      const problems = hub.registry.problems;
      const lines = hosts.map(statusLine);
      if (!hosts.length) lines.push("no hosts: add some with --hosts FILE or \"hosts\" in the config");
      if (problems.length) lines.push("registry problems:", ...problems.map((p) => `  ${p.where}: ${p.message}`));
      return textResult(lines.join("\n"), { hosts, problems, ttl_s: hub.ttlSeconds });
    },
  });
  const calls = HOST_TOOL_NAMES.map((name) => {
    const fans = FANOUT_TOOLS.has(name);
    return defineTool({
      name: `remote_${name}`,
      title: `${hostToolTitles[name]} on a fleet host`,
      description:
        `${hostToolDescriptions[name]} Runs on the named host through its MCP peer, falling back to SSH when the peer ` +
        "cannot be reached (never when the tool itself fails); the result's `via` says which path served it." +
        (fans
          ? " With several hosts (comma list, glob, group) it runs on all in parallel: a summary line ('3 ok, 1 failed, 1 down'), " +
            "the worst exit status, identical outputs shown once with their hosts, and structuredContent.results[] per host; " +
            "with a progress token, each host's end is reported as progress ('web-1 done (3/12)', total = host count)."
          : "") +
        (name === "shell" ? " on_timeout: 'background' keeps a command that outruns its timeout running as a job." : "") +
        (name === "shell_bg" ? " Returns a job id for remote_job_status, remote_job_output and remote_job_kill." : ""),
      input: { host: hostArg, ...hostToolShapes[name], ...(fans ? fanoutInput : {}), ...(name === "shell" ? shellExtraInput : {}) },
      output: remoteOutput(name),
      annotations: { ...hostToolAnnotations[name], openWorldHint: true },
      async handler(args, ctx) {
        const { host, parallel, on_timeout, ...rest } = args as { host: string; parallel?: number; on_timeout?: "kill" | "background" } & Record<string, unknown>;
        const opts: HubCallOptions = {
          signal: ctx.signal,
          ...(ctx.wantsProgress ? { onProgress: (p: Progress) => ctx.progress(p) } : {}),
          ...(on_timeout ? { onTimeout: on_timeout } : {}),
          ...(parallel ? { parallel } : {}),
        };
        try {
          const sel = selectHosts(host, hub.registry.names(), hub.groups);
          if (sel.kind === "error") return errorResult(`remote_${name}: ${sel.message}`);
          if (sel.kind === "many") {
            if (!fans) return errorResult(`remote_${name} runs on one host; '${host}' names several. Only remote_shell and remote_read_file fan out.`);
            return await runFanout(hub, name, sel.names, rest, opts);
          }
          if (name === "shell_bg") return fitOutput((await hub.jobs.start(sel.name, rest as { command: string })).result, name);
          return fitOutput((await callHost(hub, sel.name, name, rest, opts)).result, name);
        } catch (e) {
          return errorResult(`remote_${name} on host '${host}' failed: ${(e as Error).message}`);
        }
      },
    });
  });
  return [list, ...calls, ...jobTools(hub)];
}
