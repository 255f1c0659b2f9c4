import { z } from "zod";
import { errorResult, textResult } from "../backends/backend.js";
import { PROTOCOLS, type Config, type ServiceSpec } from "../config.js";
import type { ServiceRegistry } from "../services/registry.js";
import { SERVICE_STATES, type ServiceInfo } from "../services/service-types.js";
import { defineTool, type AnyToolDef } from "./define.js";
import { callThrough } from "./services-proxy.js";
import { serviceSearchTool } from "./services-search.js";

export { serviceToolProvider } from "./services-proxy.js";

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const nameField = z
  .string()
  .regex(NAME, "service names are 1-63 characters: lower-case letters, digits, '_' and '-', starting with a letter or digit (e.g. \"my-server\")")
  .describe("Service name; also the prefix of its proxied tools (<name>__<tool>).");

const exitShape = z.object({ code: z.number().nullable(), signal: z.string().nullable(), reason: z.string(), at: z.string() });

const serviceShape = {
  name: z.string(),
  host: z.string(),
  status: z.enum(SERVICE_STATES),
  source: z.string().optional(),
  detail: z.string().optional(),
  pid: z.number().nullable(),
  uptime_s: z.number().nullable(),
  restarts: z.number(),
  last_exit: exitShape.nullable(),
  error: z.string().nullable(),
  install_ms: z.number().nullable(),
  handshake_ms: z.number().nullable(),
  tool_count: z.number(),
  tools: z.array(z.object({ name: z.string(), description: z.string() })),
  endpoint: z.string().nullable().optional().describe("Where the service is served as itself over HTTP (/services/<name>/mcp), or null."),
  notes: z.array(z.string()).optional().describe("What mcp-herd noted about the service: a name mapped from a client config, a resource URI another service already owns, why it was left out of the first lists."),
  state_error: z.string().optional().describe("Set when the state file could not be written: the service runs but will not come back after a restart of mcp-herd."),
};

const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

function message(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

/** A service as a person reads it: where, state, pid, timings, what went wrong and what to do, then its tools. */
function describe(info: ServiceInfo, proxied = true): string {
  const where = info.host === "local" ? `service '${info.name}'` : `service '${info.name}' on host '${info.host}'`;
  const head = `${where}: ${info.status}` + (info.pid ? `, pid ${info.pid}` : "") + `, ${info.tool_count} tool(s)`;
  const timing = info.handshake_ms !== null ? ` (install ${info.install_ms ?? 0} ms, handshake ${info.handshake_ms} ms)` : "";
  const extra = [
    info.restarts ? `  restarts: ${info.restarts}` : "",
    info.last_exit ? `  last exit: ${info.last_exit.reason} at ${info.last_exit.at}` : "",
    info.error ? `  error: ${info.error.replace(/\n/g, "\n    ")}` : "",
    ...(info.notes ?? []).map((n) => `  note: ${n}`),
    nextStep(info, proxied),
  ].filter(Boolean);
  const tools = info.tools.map((t) => `  ${t.name}${t.description ? `: ${t.description.split("\n")[0]!.slice(0, 120)}` : ""}`);
  return [head + timing, ...extra, ...tools].join("\n");
}

function nextStep(info: ServiceInfo, proxied: boolean): string {
  const n = info.name;
  switch (info.status) {
    case "running":
      return info.tool_count ? `  call: ${proxied ? `${n}__<tool>, or ` : ""}service_call { name: "${n}", tool, arguments }` : "";
    case "failed":
      return `  next: read service_logs { name: "${n}" }, fix the cause, then service_restart or service_load`;
    case "crashed":
      return `  next: read service_logs { name: "${n}" }, then service_restart { name: "${n}" }`;
    case "restarting":
      return `  restarting by itself after a failure; service_logs { name: "${n}" } shows why`;
    case "unreachable":
      return `  kept: it answers again when host '${info.host}' is back (remote_list_hosts shows its paths)`;
    default:
      return "";
  }
}

function withNotes(info: ServiceInfo, notes: string[]): ServiceInfo {
  return notes.length ? { ...info, notes } : info;
}

function plain(info: ServiceInfo): Record<string, unknown> {
  return JSON.parse(JSON.stringify(info)) as Record<string, unknown>;
}

/** The service_* tools: load, call, list, logs, unload and restart supervised MCP servers. */
export function serviceTools(
  registry: ServiceRegistry,
  config: Pick<Config, "proxyTools"> = { proxyTools: true },
  endpointOf: (name: string) => string | undefined = () => undefined,
): AnyToolDef[] {
  const show = (info: ServiceInfo) => describe(info, config.proxyTools);
  return [
    defineTool({
      name: "service_load",
      title: "Load an MCP server",
      description:
        "Starts an MCP server under supervision and serves its tools (as <name>__<tool> and through service_call). " +
        "Give exactly one source: path (local folder), git (+ ref), npm (package spec), python (package spec), " +
        "command (+ args, like a Claude Desktop mcpServers entry) or url (remote streamable HTTP server, + headers). " +
        "Loading a name that is loaded replaces it (the old process tree is stopped first). The service is remembered " +
        "across restarts of mcp-herd until service_unload. With host, it runs on that host's mcp-herd peer and is " +
        "called, listed and unloaded here as if it were local. Progress reports each phase (resolving, cloning, " +
        "installing, starting, handshake). Returns its status, pid, tools and install/handshake times.",
      input: {
        name: nameField,
        path: z.string().optional().describe("Absolute path of a local folder holding the server (runtime and entry are detected)."),
        git: z.string().optional().describe("Git URL to clone (https, ssh, git, file or an absolute path)."),
        ref: z.string().optional().describe("Branch, tag or commit of the git source."),
        npm: z.string().optional().describe("npm package spec: name, name@range or @scope/name@version."),
        python: z.string().optional().describe("Python package spec run with uvx or in a venv (e.g. mcp-server-time)."),
        command: z.string().optional().describe("Program to run as given (no shell), e.g. node or /usr/bin/my-server."),
        args: z.array(z.string()).optional().describe("Arguments for command (each one element; never split by a shell)."),
        url: z.string().optional().describe("http(s) URL of a remote streamable HTTP MCP server."),
        headers: z.record(z.string(), z.string()).optional().describe("HTTP headers for a url source (e.g. Authorization)."),
        env: z.record(z.string(), z.string()).optional().describe("Extra environment variables for the server; values never appear in logs or results."),
        cwd: z.string().optional().describe("Absolute working folder for the server process."),
        runtime: z.enum(["node", "bun", "python"]).optional().describe("Force the runtime of a path/git source instead of detecting it."),
        install: z.boolean().optional().describe("Install dependencies of a path/git source (default true)."),
        allow_scripts: z.boolean().optional().describe("Allow package install scripts (default false)."),
        inherit_env: z.boolean().optional().describe("Pass mcp-herd's environment (minus its secrets) to the server (default true); false gives only HOME, PATH, USER, SHELL, TERM, LOGNAME."),
        timeout_ms: z.number().int().positive().optional().describe("Bound on the handshake (initialize + tools/list) in ms; default 30000."),
        host: z.string().optional().describe("Run it on this host's mcp-herd peer (a host from remote_list_hosts with a peer); default this machine."),
        protocol: z
          .enum(PROTOCOLS)
          .optional()
          .describe(
            'Protocol era to speak to it: "legacy" (initialize; default), "auto" (probe with server/discover, fall back to initialize) or "2026-07-28" (only that). Remembered with the service.',
          ),
      },
      output: serviceShape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
      async handler({ name, ...rest }, ctx) {
        const spec = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as ServiceSpec;
        let step = 0;
        try {
          const info = await registry.load(name, spec, { onPhase: (message) => ctx.progress({ progress: ++step, message }) });
          const warning = info.state_error ? `\nWARNING: it is running but will not be restored after mcp-herd restarts (${info.state_error})` : "";
          return textResult(show(info) + warning, plain(info));
        } catch (e) {
          return errorResult(`service_load '${name}' failed: ${message(e)}`);
        }
      },
    }),
    defineTool({
      name: "service_call",
      title: "Call a tool of a service",
      description:
        "Calls one tool of a loaded service and returns its result unchanged (content, structuredContent, isError). " +
        "Progress from the service reaches you and keeps the call alive; cancelling reaches the service. " +
        "Use service_list to see the services and their tools.",
      input: {
        name: z.string().describe("Name of the loaded service."),
        tool: z.string().min(1).describe("Tool name as the service lists it (without the <name>__ prefix)."),
        arguments: z.record(z.string(), z.unknown()).optional().describe("Arguments for the tool (an object)."),
        timeout_ms: z.number().int().positive().optional().describe("Bound on the call in ms without progress (default 60000); each progress notification restarts it."),
      },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
      handler: ({ name, tool, arguments: args, timeout_ms }, ctx) => callThrough(registry, name, tool, args ?? {}, ctx, timeout_ms),
    }),
    defineTool({
      name: "service_list",
      title: "List services",
      description:
        "Lists loaded services (or one): status (installing, starting, running, restarting, crashed, failed, stopped), " +
        "pid, uptime, restarts, last exit, error, and tools. Use service_logs to see why one failed.",
      input: { name: z.string().optional().describe("Only this service.") },
      output: { services: z.array(z.object(serviceShape)) },
      annotations: READ,
      async handler({ name }) {
        const all = registry.list().filter((s) => name === undefined || s.name === name);
        if (name !== undefined && all.length === 0) return errorResult(`no service named '${name}' is loaded; service_list without a name shows all`);
        const infos = all.map((s) => ({ ...withNotes(s.info(), registry.notes.of(s.name)), endpoint: s.hub ? (endpointOf(s.name) ?? null) : null }));
        const text = infos.length ? infos.map((i) => show(i) + (i.endpoint ? `\n  endpoint: ${i.endpoint}` : "")).join("\n") : "no services loaded; use service_load";
        return textResult(text, { services: infos.map(plain) });
      },
    }),
    defineTool({
      name: "service_logs",
      title: "Show a service's logs",
      description:
        "Shows the last lines a service wrote on stderr (and any non-protocol stdout), plus mcp-herd's notes about it " +
        "(starts, exits, restarts), each with a timestamp. Keeps the last 1000 lines.",
      input: {
        name: z.string().describe("Name of the loaded service."),
        lines: z.number().int().min(1).max(1000).optional().describe("How many of the last lines (default 100, at most 1000)."),
        since: z.string().optional().describe("Only lines at or after this ISO 8601 time."),
        stream: z
          .enum(["stderr", "stdout", "herd", "mcp"])
          .optional()
          .describe("Only this stream: stderr, stdout, herd (mcp-herd's notes: starts, exits, restarts) or mcp (the service's own MCP log messages); stdout also carries the counted notes of a notification flood."),
      },
      output: {
        name: z.string(),
        lines: z.array(z.object({ time: z.string(), stream: z.enum(["stderr", "stdout", "herd", "mcp"]), text: z.string() })),
      },
      annotations: READ,
      async handler({ name, lines, since, stream }) {
        if (since !== undefined && !Number.isFinite(Date.parse(since))) {
          return errorResult(`service_logs: since '${since}' is not an ISO 8601 time (e.g. 2025-01-31T12:00:00Z)`);
        }
        try {
          const out = await registry.readLogs(name, lines ?? 100, since, stream);
          const text = out.length ? out.map((l) => `${l.time} [${l.stream}] ${l.text}`).join("\n") : `no log lines for '${name}'`;
          return textResult(text, { name, lines: out.map((l) => ({ ...l })) });
        } catch (e) {
          return errorResult(message(e));
        }
      },
    }),
    defineTool({
      name: "service_unload",
      title: "Unload a service",
      description:
        "Stops a service with its whole process tree (on its host, for one loaded with host), removes its tools and forgets it across restarts.",
      input: { name: z.string().describe("Name of the loaded service.") },
      output: { name: z.string(), unloaded: z.boolean() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      async handler({ name }) {
        try {
          const host = registry.get(name)?.host ?? "local";
          await registry.unload(name);
          const where = host === "local" ? "its process tree is stopped" : `stopped on host '${host}'`;
          return textResult(`service '${name}' unloaded: ${where}, its tools are gone, and it is not loaded again at restart`, { name, unloaded: true });
        } catch (e) {
          return errorResult(`service_unload '${name}' failed: ${message(e)}`);
        }
      },
    }),
    defineTool({
      name: "service_restart",
      title: "Restart a service",
      description:
        "Stops and starts a service again (also one that is crashed or failed), resetting its crash count. " +
        "Returns its new status and tools.",
      input: { name: z.string().describe("Name of the loaded service.") },
      output: serviceShape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
      async handler({ name }) {
        try {
          const info = await registry.restart(name);
          return textResult(show(info), plain(info));
        } catch (e) {
          return errorResult(`service_restart '${name}' failed: ${message(e)}`);
        }
      },
    }),
      serviceSearchTool(registry),
  ];
}
