import { posix } from "node:path";
import { textResult, type ToolResult } from "../../backends/backend.js";
import {
  BinaryFileError,
  cutUtf8,
  decodeText,
  encodeText,
  findAll,
  formatSize,
  lineNumbersAt,
  modeString,
  sha256,
  splitLines,
  type DecodedText,
} from "../../backends/host-files.js";
import { WriteConflictError, type FileStat } from "../../backends/host-io.js";
import { hostPath, ToolFailure, type HostToolContext } from "./context.js";
import { unifiedDiff } from "./diff.js";

type ReadArgs = { path: string; offset?: number; limit?: number; tail?: number };
type WriteArgs = { path: string; content: string; append?: boolean; expected_sha256?: string };
type EditArgs = {
  path: string;
  old_string: string;
  new_string: string;
  replace_all?: boolean;
  expected_replacements?: number;
  dry_run?: boolean;
};

const MAX_DIR_ENTRIES = 10_000;

async function regularFile(ctx: HostToolContext, tool: string, path: string): Promise<FileStat> {
  const st = await ctx.io.stat(path);
  if (!st) throw new ToolFailure(`${tool}: no such file: ${path}`);
  if (st.type === "dir") throw new ToolFailure(`${tool}: ${path} is a folder, not a file (use list_dir)`);
  if (st.type !== "file") throw new ToolFailure(`${tool}: ${path} is not a regular file`);
  return st;
}

function decodeOrRefuse(tool: string, path: string, buf: Buffer, size: number, partial: boolean): DecodedText {
  try {
    return decodeText(buf, partial);
  } catch (e) {
    if (!(e instanceof BinaryFileError)) throw e;
    throw new ToolFailure(
      `${tool}: ${path} looks like a binary file (${e.message}); size ${size} bytes (${formatSize(size)}). ` +
        "Inspect it with shell (file, xxd, head -c).",
    );
  }
}

/** read_file: a window of lines (offset/limit or tail) of a text file, bounded in bytes. */
export async function readFileTool(args: ReadArgs, ctx: HostToolContext): Promise<ToolResult> {
  const path = await hostPath(ctx, args.path);
  if (args.tail !== undefined && (args.offset !== undefined || args.limit !== undefined)) {
    throw new ToolFailure("read_file: pass either tail or offset/limit, not both");
  }
  const st = await regularFile(ctx, "read_file", path);
  const buf = await ctx.io.readFile(path, ctx.maxFileBytes);
  let partialFile = st.size > buf.length;
  const dec = decodeOrRefuse("read_file", path, buf, st.size, partialFile);
  const paging = args.tail !== undefined || args.offset !== undefined || args.limit !== undefined;
  let lines = splitLines(dec.text);
  let total = lines.length;
  let base = 0;
  if (partialFile && paging && dec.encoding === "utf-8") {
    ({ lines, total, base } = await bigFileWindow(ctx, path, args));
    partialFile = false;
  }
  let start = args.tail !== undefined ? Math.max(0, total - args.tail) : (args.offset ?? 1) - 1;
  if (start > 0 && start >= total) {
    throw new ToolFailure(`read_file: offset ${start + 1} is past the end of ${path} (${total} lines)`);
  }
  start = Math.min(start, total);
  const wanted = Math.min(base + lines.length, args.tail === undefined && args.limit !== undefined ? start + args.limit : total);
  let content = "";
  let bytes = 0;
  let end = start;
  let cut = false;
  for (; end < wanted; end++) {
    const line = lines[end - base]!;
    const n = Buffer.byteLength(line);
    if (bytes + n > ctx.maxOutputBytes) {
      if (end === start) {
        content = cutUtf8(Buffer.from(line), ctx.maxOutputBytes).toString("utf8");
        end++;
      }
      cut = true;
      break;
    }
    content += line;
    bytes += n;
  }
  const truncated = cut || partialFile;
  const data = {
    path,
    content,
    encoding: dec.encoding,
    bom: dec.bom,
    line_start: end > start ? start + 1 : 0,
    line_end: end,
    total_lines: total,
    size: st.size,
    truncated,
    via: ctx.via,
  };
  const whole = start === 0 && end === total && !truncated;
  if (whole) return textResult(content, data);
  const of = partialFile ? `at least ${total} (only the first ${formatSize(buf.length)} read)` : String(total);
  const range = end > start ? `lines ${start + 1}-${end}` : "no lines";
  const more = end < total ? `; continue with offset=${end + 1}` : "";
  const note = `[${range} of ${of}; ${st.size} bytes${cut ? "; cut at " + formatSize(ctx.maxOutputBytes) : ""}${more}]`;
  return textResult(`${content}${content === "" || content.endsWith("\n") ? "" : "\n"}${note}`, data);
}

// Constant script; the path and line numbers arrive as positional arguments. Prints the line count (an unterminated
// last line counts), then the window.
const WINDOW_SCRIPT =
  'n=$(wc -l < "$1") || exit; [ -n "$(tail -c 1 -- "$1")" ] && n=$((n + 1)); echo "$n"; if [ "$2" = tail ]; then tail -n "$3" -- "$1"; else tail -n "+$3" -- "$1" | head -n "$4"; fi';

/** A window of a UTF-8 file too big to load, cut on the host with tail/head (the host streams, we do not). */
async function bigFileWindow(
  ctx: HostToolContext,
  path: string,
  args: ReadArgs,
): Promise<{ lines: string[]; total: number; base: number }> {
  const window =
    args.tail !== undefined
      ? ["tail", String(args.tail), ""]
      : ["from", String(args.offset ?? 1), String(args.limit ?? 1_000_000_000)];
  const r = await ctx.io.exec(
    { argv: ["sh", "-c", WINDOW_SCRIPT, "read_file", path, ...window], timeoutMs: 60_000, maxOutputBytes: ctx.maxOutputBytes + 65536 },
    { signal: ctx.signal },
  );
  if (r.exit_code !== 0 && !r.truncated) {
    throw new ToolFailure(`read_file: cannot page through ${path}: ${r.stderr.trim() || `exit ${r.exit_code}`}`);
  }
  const out = r.truncated ? r.stdout.replace(/\n\[\.\.\. output truncated: [^\n]*\]\n$/, "") : r.stdout;
  const nl = out.indexOf("\n");
  const lines = splitLines(out.slice(nl + 1));
  // The last line was cut by the output bound; keep it only when it is the window's first line, so the
  // caller returns its cut start and the next offset moves past it (else paging would stand still).
  if (r.truncated && lines.length > 1) lines.pop();
  const counted = Number(out.slice(0, nl));
  if (!Number.isFinite(counted)) throw new ToolFailure(`read_file: cannot page through ${path}: no line count (${r.stderr.trim() || "no output"})`);
  const total = Math.max(counted, args.tail !== undefined ? lines.length : (args.offset ?? 1) - 1 + lines.length);
  const base = args.tail !== undefined ? Math.max(0, total - args.tail) : (args.offset ?? 1) - 1;
  return { lines, total, base };
}

/** write_file: atomic replace or append, with an optional SHA-256 precondition. */
export async function writeFileTool(args: WriteArgs, ctx: HostToolContext): Promise<ToolResult> {
  const path = await hostPath(ctx, args.path);
  const st = await ctx.io.stat(path);
  if (st && st.type === "dir") throw new ToolFailure(`write_file: ${path} is a folder`);
  if (!st) {
    const parent = await ctx.io.stat(posix.dirname(path));
    if (!parent || parent.type !== "dir") {
      throw new ToolFailure(`write_file: folder ${posix.dirname(path)} does not exist; create it first (shell: mkdir -p)`);
    }
  }
  if (args.expected_sha256 !== undefined) {
    if (!st) throw new ToolFailure(`write_file: ${path} does not exist, but expected_sha256 was given`);
    const current = sha256(await ctx.io.readFile(path, st.size));
    if (current !== args.expected_sha256.toLowerCase()) {
      throw new ToolFailure(
        `write_file: ${path} was changed: its SHA-256 is ${current}, expected ${args.expected_sha256.toLowerCase()}. ` +
          "Read it again and retry; nothing was written.",
      );
    }
  }
  const data = Buffer.from(args.content, "utf8");
  const append = args.append === true;
  await ctx.io.writeFileAtomic(path, data, { append });
  const size = append ? (st?.size ?? 0) + data.length : data.length;
  const out: Record<string, unknown> = { path, bytes: data.length, size, created: !st, appended: append, via: ctx.via };
  if (!append) out.sha256 = sha256(data);
  const text = append
    ? `Appended ${data.length} bytes to ${path} (now ${size} bytes)`
    : `Written ${data.length} bytes to ${path}`;
  return textResult(text, out);
}

/** How often edit_file re-reads and re-applies an edit when the file changed under it. */
const EDIT_ATTEMPTS = 5;

/** edit_file: literal replacement with a match-count guard, keeping encoding, BOM, line endings and mode; re-applied when the file changes under it. */
export async function editFileTool(args: EditArgs, ctx: HostToolContext): Promise<ToolResult> {
  const path = await hostPath(ctx, args.path);
  for (let attempt = 1; ; attempt++) {
    const st = await regularFile(ctx, "edit_file", path);
    if (st.size > ctx.maxFileBytes) {
      throw new ToolFailure(`edit_file: ${path} is ${formatSize(st.size)}, over the ${formatSize(ctx.maxFileBytes)} edit limit`);
    }
    const before = await ctx.io.readFile(path, ctx.maxFileBytes);
    const edit = planEdit(args, path, decodeOrRefuse("edit_file", path, before, st.size, false));
    if (args.dry_run === true) return editResult(path, edit, true, attempt, ctx.via);
    try {
      // Checked here too for hosts that cannot check at the rename itself; the local host checks again there.
      const current = sha256(await ctx.io.readFile(path, ctx.maxFileBytes));
      if (current !== sha256(before)) throw new WriteConflictError(`${path} changed since it was read`);
      await ctx.io.writeFileAtomic(path, edit.bytes, { ifSha256: current });
      return editResult(path, edit, false, attempt, ctx.via);
    } catch (e) {
      if (!(e instanceof WriteConflictError)) throw e;
      if (attempt >= EDIT_ATTEMPTS) {
        throw new ToolFailure(
          `edit_file: ${path} kept changing while it was being edited (${attempt} attempts, each re-read and re-applied); ` +
            "nothing was written. Retry when the other writer is done.",
        );
      }
    }
  }
}

interface PlannedEdit {
  bytes: Buffer;
  offsets: number[];
  lines: number[];
  diff: string;
}

function planEdit(args: EditArgs, path: string, dec: DecodedText): PlannedEdit {
  const crlf = (s: string) => (dec.eol === "\r\n" ? s.replace(/\r?\n/g, "\r\n") : s);
  let oldS = crlf(args.old_string);
  let newS = crlf(args.new_string);
  let offsets = findAll(dec.text, oldS);
  if (offsets.length === 0 && oldS !== args.old_string) {
    [oldS, newS] = [args.old_string, args.new_string];
    offsets = findAll(dec.text, oldS);
  }
  if (offsets.length === 0) {
    throw new ToolFailure(`edit_file: old_string not found in ${path}; read the file and copy the text exactly (whitespace counts)`);
  }
  const lines = lineNumbersAt(dec.text, offsets);
  const expected = args.expected_replacements ?? (args.replace_all ? undefined : 1);
  if (expected !== undefined && offsets.length !== expected) {
    throw new ToolFailure(
      `edit_file: old_string occurs ${offsets.length} times in ${path} (at lines ${lines.join(", ")}), expected ${expected}. ` +
        "Include more surrounding text to pick one, or pass replace_all: true. Nothing was changed.",
    );
  }
  if (oldS === newS) throw new ToolFailure("edit_file: old_string and new_string are the same; nothing to do");
  const after = dec.text.split(oldS).join(newS);
  const bytes = encodeText(after, dec.encoding, dec.bom);
  return { bytes, offsets, lines, diff: unifiedDiff(dec.text, after, path.replace(/^\//, "")) };
}

function editResult(path: string, e: PlannedEdit, dryRun: boolean, attempt: number, via: string): ToolResult {
  const data = { path, replacements: e.offsets.length, lines: e.lines, dry_run: dryRun, diff: e.diff, sha256: sha256(e.bytes), via };
  const where = `${e.offsets.length} replacement(s) at line(s) ${e.lines.join(", ")}`;
  const retried = attempt > 1 ? ` (the file changed while editing; re-read and re-applied, attempt ${attempt})` : "";
  return textResult(dryRun ? `Dry run, nothing written: ${where} in ${path}\n${e.diff}` : `Edited ${path}: ${where}${retried}`, data);
}

/** list_dir: entries with type, mode, size and mtime, folders first. */
export async function listDirTool(args: { path?: string }, ctx: HostToolContext): Promise<ToolResult> {
  const path = await hostPath(ctx, args.path);
  const st = await ctx.io.stat(path);
  if (!st) throw new ToolFailure(`list_dir: no such folder: ${path}`);
  if (st.type !== "dir") throw new ToolFailure(`list_dir: ${path} is not a folder (use read_file)`);
  const all = await ctx.io.listDir(path);
  all.sort((a, b) => Number(b.type === "dir") - Number(a.type === "dir") || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const truncated = all.length > MAX_DIR_ENTRIES;
  const entries = all.slice(0, MAX_DIR_ENTRIES).map((e) => ({
    name: e.name,
    type: e.type,
    size: e.size,
    mode: modeString(e.type, e.mode),
    mtime: new Date(e.mtimeMs).toISOString(),
  }));
  const width = Math.max(1, ...entries.map((e) => String(e.size).length));
  const rows = entries.map((e) => {
    const suffix = e.type === "dir" ? "/" : e.type === "symlink" ? "@" : "";
    return `${e.mode} ${String(e.size).padStart(width)} ${e.mtime.slice(0, 16).replace("T", " ")} ${e.name}${suffix}`;
  });
  if (truncated) rows.push(`[... ${all.length - MAX_DIR_ENTRIES} more entries not shown]`);
  const text = `${path}: ${all.length} entries\n${rows.join("\n")}`;
  return textResult(text, { path, entries, truncated, via: ctx.via });
}
