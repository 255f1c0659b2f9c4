import { z } from "zod";

/** The tool names of the host tool set (lmcp-compatible); `remote_X` on the hub is X plus `host`. */
export const HOST_TOOL_NAMES = [
  "shell",
  "shell_bg",
  "read_file",
  "write_file",
  "edit_file",
  "list_dir",
  "search_files",
] as const;
export type HostToolName = (typeof HOST_TOOL_NAMES)[number];

/** Upper bound of `shell`'s timeout, in seconds (one hour); longer jobs belong in shell_bg. */
const MAX_SHELL_TIMEOUT_S = 3600;
/** `shell`'s timeout when none is given, in seconds. */
export const DEFAULT_SHELL_TIMEOUT_S = 30;
/** Most results search_files returns (and the default). */
const MAX_SEARCH_RESULTS = 5000;
export const DEFAULT_SEARCH_RESULTS = 200;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const path = (what: string) =>
  z
    .string()
    .min(1)
    .refine((p) => !p.includes("\0"), "a path cannot contain a NUL byte")
    .describe(`${what}. Absolute, '~/...', or relative to the host user's home folder.`);

/** Zod input shapes of each host tool; the hub's remote_X adds `host` to these. */
export const hostToolShapes = {
  shell: {
    command: z.string().min(1).describe("Bash script to run (bash -c). Pipes, redirects and && work."),
    cwd: path("Working folder (default: the home folder)").optional(),
    timeout: z
      .number()
      .positive()
      .max(MAX_SHELL_TIMEOUT_S)
      .optional()
      .describe(
        `Seconds before the command's whole process group is killed (default ${DEFAULT_SHELL_TIMEOUT_S}, max ${MAX_SHELL_TIMEOUT_S}). Use shell_bg for longer jobs.`,
      ),
    env: z
      .record(z.string().regex(ENV_NAME, "environment variable names are letters, digits and '_'"), z.string())
      .optional()
      .describe("Extra environment variables for the command, e.g. {\"LANG\": \"C\"}."),
  },
  shell_bg: {
    command: z.string().min(1).describe("Bash script to start in the background, detached from this call."),
    cwd: path("Working folder (default: the home folder)").optional(),
    log: path("File that receives stdout+stderr, appended (default: a new file in the host's temp folder)").optional(),
    env: z
      .record(z.string().regex(ENV_NAME, "environment variable names are letters, digits and '_'"), z.string())
      .optional()
      .describe("Extra environment variables for the command, e.g. {\"LANG\": \"C\"}."),
  },
  read_file: {
    path: path("File to read"),
    offset: z.number().int().min(1).optional().describe("First line to return, 1-based (default 1)."),
    limit: z.number().int().min(1).optional().describe("How many lines to return (default: all, up to 1 MiB of text)."),
    tail: z.number().int().min(1).optional().describe("Return only the last N lines (instead of offset/limit)."),
  },
  write_file: {
    path: path("File to write (its folder must exist)"),
    content: z.string().describe("The complete new content (UTF-8), or the text to add when append is true."),
    append: z.boolean().optional().describe("Add content at the end instead of replacing the file (default false)."),
    expected_sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "a SHA-256 is 64 hex digits")
      .optional()
      .describe("Write only if the file's current SHA-256 (hex) is this; protects against lost updates."),
  },
  edit_file: {
    path: path("File to edit"),
    old_string: z.string().min(1).describe("Exact text to find (literal, not a regex); include enough context to be unique."),
    new_string: z.string().describe("Text to put in its place."),
    replace_all: z.boolean().optional().describe("Replace every occurrence (default false: exactly one must match)."),
    expected_replacements: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("Refuse unless old_string occurs exactly this many times (default 1, or any count with replace_all)."),
    dry_run: z.boolean().optional().describe("Show the unified diff without writing (default false)."),
  },
  list_dir: {
    path: path("Folder to list (default: the home folder)").optional(),
  },
  search_files: {
    pattern: z
      .string()
      .min(1)
      .describe(
        "File name pattern: a glob ('*.ts', 'test_?.py') or a substring of the name. With content: true, a regular expression searched inside files.",
      ),
    path: path("Folder to search under (default: the home folder)").optional(),
    max_results: z
      .number()
      .int()
      .min(1)
      .max(MAX_SEARCH_RESULTS)
      .optional()
      .describe(`Stop after this many matches (default ${DEFAULT_SEARCH_RESULTS}, max ${MAX_SEARCH_RESULTS}).`),
    content: z.boolean().optional().describe("Search file contents (rg, or grep -rn) instead of names (default false)."),
  },
} satisfies Record<HostToolName, z.ZodRawShape>;

const via = z.string().describe("Which path served the call: local, ssh or peer.");
const transport = z
  .record(z.string(), z.string())
  .optional()
  .describe("Over SSH: files (sftp or exec: content on stdin of sh), shell (bash or sh) and commands (agent or exec) that served it.");

/** Zod output shapes (structuredContent) of each host tool. */
export const hostToolOutputShapes = {
  shell: {
    exit_code: z.number().int().nullable(),
    signal: z.string().nullable(),
    stdout: z.string(),
    stderr: z.string(),
    via,
    transport,
    truncated: z.boolean(),
    duration_ms: z.number(),
    timed_out: z.boolean(),
    killed: z.boolean().optional(),
    stop_unconfirmed: z.boolean().optional(),
  },
  shell_bg: { pid: z.number().int(), pgid: z.number().int(), log: z.string(), rc_file: z.string(), via, transport },
  read_file: {
    path: z.string(),
    content: z.string(),
    encoding: z.string(),
    bom: z.boolean(),
    line_start: z.number().int(),
    line_end: z.number().int(),
    total_lines: z.number().int(),
    size: z.number().int(),
    truncated: z.boolean(),
    via,
    transport,
  },
  write_file: {
    path: z.string(),
    bytes: z.number().int(),
    size: z.number().int(),
    sha256: z.string().optional(),
    created: z.boolean(),
    appended: z.boolean(),
    via,
    transport,
  },
  edit_file: {
    path: z.string(),
    replacements: z.number().int(),
    lines: z.array(z.number().int()),
    dry_run: z.boolean(),
    diff: z.string(),
    sha256: z.string(),
    via,
    transport,
  },
  list_dir: {
    path: z.string(),
    entries: z.array(
      z.object({ name: z.string(), type: z.string(), size: z.number(), mode: z.string(), mtime: z.string() }),
    ),
    truncated: z.boolean(),
    via,
    transport,
  },
  search_files: {
    pattern: z.string(),
    path: z.string(),
    content: z.boolean(),
    matches: z.array(z.object({ path: z.string(), line: z.number().int().optional(), text: z.string().optional() })),
    truncated: z.boolean(),
    engine: z.string(),
    via,
    transport,
  },
} satisfies Record<HostToolName, z.ZodRawShape>;

/** One line on what each tool does, when to use it and its limits. */
export const hostToolDescriptions: Record<HostToolName, string> = {
  shell:
    "Runs a bash command and returns '[rc=N]' then its output (stderr shown after '[stderr]'). " +
    `The whole process group is killed after 'timeout' seconds (default ${DEFAULT_SHELL_TIMEOUT_S}); output over 1 MiB per stream is cut. ` +
    "For servers and long jobs use shell_bg.",
  shell_bg:
    "Starts a bash command detached in the background (own session) and returns at once with its pid, " +
    "the log file (stdout+stderr) and the file its exit code is written to when it ends. Read the log with read_file.",
  read_file:
    "Reads a text file (UTF-8 or UTF-16, BOM detected). Page with offset/limit (lines) or tail; the result says " +
    "which lines of how many and the file size. Binary files are refused with their size.",
  write_file:
    "Writes a whole file atomically (temp file + rename; an existing file keeps its mode), or appends. " +
    "Pass expected_sha256 to write only if nobody changed the file since you read it.",
  edit_file:
    "Replaces old_string with new_string literally. Refuses, listing the matching line numbers, unless the match " +
    "count is expected_replacements (default 1; replace_all for every match). Keeps CRLF, BOM, encoding and mode; dry_run shows the diff.",
  list_dir: "Lists a folder: type, permissions, size, modification time and name of each entry.",
  search_files:
    "Finds files under a folder by name (glob or substring), or lines in files by regex with content: true " +
    "(rg when installed, else grep). Skips .git and node_modules; stops at max_results and says so.",
};

/** Human titles. */
export const hostToolTitles: Record<HostToolName, string> = {
  shell: "Run a shell command",
  shell_bg: "Start a background command",
  read_file: "Read a file",
  write_file: "Write a file",
  edit_file: "Edit a file",
  list_dir: "List a folder",
  search_files: "Search files",
};

type Ann = { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean };

/** The four MCP annotations of each host tool. */
export const hostToolAnnotations: Record<HostToolName, Ann> = {
  shell: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  shell_bg: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  read_file: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  write_file: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  edit_file: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  list_dir: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  search_files: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};
