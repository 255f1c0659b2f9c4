import { textResult, type ToolResult } from "../../backends/backend.js";
import { hostPath, ToolFailure, type HostToolContext } from "./context.js";
import { DEFAULT_SEARCH_RESULTS } from "./schemas.js";

type SearchArgs = { pattern: string; path?: string; max_results?: number; content?: boolean };
type Match = { path: string; line?: number; text?: string };

const SEARCH_TIMEOUT_MS = 60_000;
const MAX_LINE_CHARS = 500;

// Constant POSIX sh scripts (BusyBox too): user text arrives only as positional arguments ($1 folder, $2 pattern,
// $3 line cap, $4 find test). GNU `head -z` and GNU grep's -Z/-I/--exclude-dir are used only where the host has them.
const PRUNE = '\\( -name .git -o -name node_modules \\) -prune -o';
const NAME_SCRIPT = [
  "if (echo x | head -z -n 1) >/dev/null 2>&1; then",
  `  find "$1" ${PRUNE} "$4" "$2" -print0 2>/dev/null | head -z -n "$3"`,
  `else find "$1" ${PRUNE} "$4" "$2" -print0 2>/dev/null; fi`,
].join("\n");
const CONTENT_SCRIPT = [
  "if command -v rg >/dev/null 2>&1; then echo engine=rg >&2",
  "  rg --line-number --with-filename --no-heading --color=never --null --hidden --no-ignore --no-messages \\",
  "    --glob '!.git' --glob '!node_modules' -e \"$2\" -- \"$1\"",
  "elif grep -Z -I --exclude-dir=x -q x /dev/null 2>/dev/null; [ $? -eq 1 ]; then echo engine=grep >&2",
  '  grep -rnIHE -Z -s --exclude-dir=.git --exclude-dir=node_modules -e "$2" -- "$1"',
  "else echo engine=grep >&2",
  `  find "$1" ${PRUNE} -type f -exec sh -c 'p=$1; shift; for f do grep -nE -e "$p" -- "$f" 2>/dev/null | ` +
    `while IFS= read -r l; do printf "%s\\000%s\\n" "$f" "$l"; done; done' sh "$2" {} +`,
  'fi | head -n "$3"',
].join("\n");

/** search_files: names by glob or substring (find), or content by regex (rg, else grep), capped. */
export async function searchFilesTool(args: SearchArgs, ctx: HostToolContext): Promise<ToolResult> {
  const path = await hostPath(ctx, args.path);
  const max = args.max_results ?? DEFAULT_SEARCH_RESULTS;
  const content = args.content === true;
  const st = await ctx.io.stat(path);
  if (!st) throw new ToolFailure(`search_files: no such folder: ${path}`);
  const glob = /[*?[]/.test(args.pattern);
  const argv = content
    ? ["sh", "-c", CONTENT_SCRIPT, "search_files", path, args.pattern, String(max + 1)]
    : ["sh", "-c", NAME_SCRIPT, "search_files", path, glob ? args.pattern : `*${args.pattern}*`, String(max + 1), glob ? "-name" : "-iname"];
  const r = await ctx.io.exec(
    { argv, timeoutMs: SEARCH_TIMEOUT_MS, maxOutputBytes: ctx.maxOutputBytes },
    { signal: ctx.signal },
  );
  const matches = content ? parseContent(r.stdout) : parseNames(r.stdout);
  const truncated = matches.length > max || r.truncated || r.timed_out;
  const shown = matches.slice(0, max);
  const engine = content ? (/engine=(\w+)/.exec(r.stderr)?.[1] ?? "grep") : "find";
  const rows = shown.map((m) => (m.line === undefined ? m.path : `${m.path}:${m.line}:${m.text ?? ""}`));
  let note = `[${shown.length} match${shown.length === 1 ? "" : "es"} for ${JSON.stringify(args.pattern)} under ${path}`;
  if (matches.length > max) note += `; stopped at max_results=${max}, narrow the pattern or path or raise max_results`;
  else if (r.timed_out) note += `; search stopped after ${SEARCH_TIMEOUT_MS / 1000}s, results are incomplete`;
  else if (r.truncated) note += "; output cut at the size bound, results are incomplete";
  note += "]";
  const text = rows.length ? `${rows.join("\n")}\n${note}` : note;
  return textResult(text, { pattern: args.pattern, path, content, matches: shown, truncated, engine, via: ctx.via });
}

function parseNames(out: string): Match[] {
  return out
    .split("\0")
    .filter((p) => p !== "")
    .map((p) => ({ path: p }));
}

function parseContent(out: string): Match[] {
  const matches: Match[] = [];
  for (const row of out.split("\n")) {
    const nul = row.indexOf("\0");
    if (nul < 0) continue;
    const rest = row.slice(nul + 1);
    const colon = rest.indexOf(":");
    const line = Number(rest.slice(0, colon));
    if (colon < 0 || !Number.isInteger(line)) continue;
    const text = rest.slice(colon + 1).replace(/\r$/, "");
    matches.push({ path: row.slice(0, nul), line, text: text.length > MAX_LINE_CHARS ? text.slice(0, MAX_LINE_CHARS) + "…" : text });
  }
  return matches;
}
