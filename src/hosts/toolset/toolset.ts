import { z } from "zod";
import {
  errorResult,
  TransportError,
  type Backend,
  type CallOptions,
  type ToolInfo,
  type ToolResult,
} from "../../backends/backend.js";
import { MAX_OUTPUT_BYTES } from "../../backends/host-files.js";
import { HostUnreachableError, type HostIO } from "../../backends/host-io.js";
import { ToolFailure, type HostToolContext } from "./context.js";
import { editFileTool, listDirTool, readFileTool, writeFileTool } from "./files.js";
import {
  HOST_TOOL_NAMES,
  hostToolAnnotations,
  hostToolDescriptions,
  hostToolOutputShapes,
  hostToolShapes,
  hostToolTitles,
  type HostToolName,
} from "./schemas.js";
import { runShell, runShellBg } from "./shell.js";
import { searchFilesTool } from "./search.js";
import { boundResult, MAX_RESULT_BYTES } from "./bound.js";

/** Bound on how much of a file read_file / edit_file load (16 MiB). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Impl = (args: any, ctx: HostToolContext) => Promise<ToolResult>;
const IMPLS: Record<HostToolName, Impl> = {
  shell: runShell,
  shell_bg: runShellBg,
  read_file: readFileTool,
  write_file: writeFileTool,
  edit_file: editFileTool,
  list_dir: listDirTool,
  search_files: searchFilesTool,
};

/** True for the names of the host tool set. */
function isHostToolName(name: string): name is HostToolName {
  return (HOST_TOOL_NAMES as readonly string[]).includes(name);
}

/** The host tool set as MCP Tool objects (JSON Schema from the zod shapes), for listTools and the hub. */
function hostToolInfos(): ToolInfo[] {
  return HOST_TOOL_NAMES.map((name) => ({
    name,
    title: hostToolTitles[name],
    description: hostToolDescriptions[name],
    inputSchema: jsonSchema(hostToolShapes[name], "input"),
    outputSchema: jsonSchema(hostToolOutputShapes[name], "output"),
    annotations: { title: hostToolTitles[name], ...hostToolAnnotations[name] },
  }));
}

function jsonSchema(shape: z.ZodRawShape, io: "input" | "output"): ToolInfo["inputSchema"] {
  const { $schema: _drop, ...schema } = z.toJSONSchema(z.object(shape), { io }) as Record<string, unknown>;
  return schema as ToolInfo["inputSchema"];
}

export interface HostBackendOptions {
  /** Label put in results' `via` (default: the backend kind). */
  via?: string;
  /** Per-stream output bound (default 1 MiB). */
  maxOutputBytes?: number;
  /** How much of a file read_file / edit_file load (default 16 MiB). */
  maxFileBytes?: number;
  /** Bound on a whole result as JSON, both copies of each stream and escapes counted (default 6 MiB). */
  maxResultBytes?: number;
}

// zod compiles a schema on its first parse: build each tool's object schema once, not per call.
const inputSchemas = new Map<HostToolName, z.ZodObject>();
function inputSchema(name: HostToolName): z.ZodObject {
  let s = inputSchemas.get(name);
  if (!s) inputSchemas.set(name, (s = z.object(hostToolShapes[name])));
  return s;
}

/** Runs one host tool over some host's primitives: validates args, maps failures to isError results. */
export async function runHostTool(
  io: HostIO,
  name: string,
  args: Record<string, unknown>,
  opts: HostBackendOptions & CallOptions = {},
): Promise<ToolResult> {
  if (!isHostToolName(name)) {
    return errorResult(`unknown tool '${name}'; the host tools are ${HOST_TOOL_NAMES.join(", ")}`);
  }
  const parsed = inputSchema(name).safeParse(args ?? {});
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join(".") || "(arguments)"}: ${i.message}`).join("; ");
    return errorResult(`${name}: invalid arguments: ${why}`);
  }
  let home: Promise<string> | undefined;
  const ctx: HostToolContext = {
    io,
    via: opts.via ?? io.kind,
    maxOutputBytes: opts.maxOutputBytes ?? MAX_OUTPUT_BYTES,
    maxFileBytes: opts.maxFileBytes ?? MAX_FILE_BYTES,
    signal: opts.signal,
    onProgress: opts.onProgress,
    home: () => (home ??= io.home()),
  };
  let result: ToolResult;
  try {
    result = await IMPLS[name](parsed.data, ctx);
    if (io.transport && result.structuredContent) result.structuredContent = { ...result.structuredContent, transport: io.transport() };
  } catch (e) {
    if (e instanceof HostUnreachableError) throw new TransportError(e.message, io.kind, { cause: e });
    if (e instanceof ToolFailure) result = errorResult(e.message);
    else result = errorResult(`${name} failed on ${ctx.via}: ${(e as Error).message ?? String(e)}`);
  }
  return boundResult(result, opts.maxResultBytes ?? MAX_RESULT_BYTES);
}

/** A Backend serving the host tool set over a HostIO (this machine, or an SSH host). */
export function hostBackend(io: HostIO, kind: "local" | "ssh", opts: HostBackendOptions = {}): Backend {
  const infos = hostToolInfos();
  return {
    kind,
    listTools: async () => infos,
    callTool: (name, args, callOpts) => runHostTool(io, name, args, { via: kind, ...opts, ...callOpts }),
    close: () => io.close(),
  };
}
