import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import type { DirEntry, FileStat, FileType, WriteOptions } from "../host-io.js";
import type { SshConnection } from "./conn.js";
import type { ScriptRunner } from "./exec.js";
import { base64Lines, REMOTE_COMMAND, wrap } from "./script.js";

const SCRIPT_TIMEOUT_MS = 120_000;
const END = "__HERD_DATA_END__";
/** Exit codes the scripts below use for the errors a caller may act on. */
const CODES: Record<number, string> = { 2: "ENOENT", 13: "EACCES", 20: "ENOTDIR", 21: "EISDIR" };

/**
 * One line per path, POSIX sh and BusyBox only (no stat -c, find -printf, readlink -f):
 * `<type> <ls mode string> <size> <mtime s>`; `$2` = 1 follows a final symlink.
 */
const STAT_FN = [
  `st() {`,
  `  if [ "$2" != 1 ] && [ -L "$1" ]; then t=symlink; elif [ -d "$1" ]; then t=dir; elif [ -f "$1" ]; then t=file;`,
  `  elif [ -e "$1" ]; then t=other; else return 2; fi`,
  `  if [ "$2" = 1 ]; then __o=$(ls -ldnL -- "$1" 2>/dev/null); else __o=$(ls -ldn -- "$1" 2>/dev/null); fi`,
  `  set -f; set -- "$1" "$2" $__o; set +f`,
  `  __m=$(date -r "$1" +%s 2>/dev/null) || __m=0`,
  `  printf '%s %s %s %s' "$t" "$3" "$7" "$__m"`,
  `}`,
].join("\n");

const ERRNO = `fail() { echo "$2" >&2; exit "$1"; }`;

// Why: the file primitives over exec channels, for hosts without an SFTP subsystem; content rides on stdin in the script.
export class ExecFiles {
  constructor(
    private readonly where: string,
    private readonly runScript: ScriptRunner,
  ) {}

  lstat(path: string): Promise<FileStat | null> {
    return this.statOf(path, false);
  }

  stat(path: string): Promise<FileStat | null> {
    return this.statOf(path, true);
  }

  async realpath(path: string): Promise<string> {
    const out = await this.run("realpath", path, [path], [ERRNO, RESOLVE_FN, `resolve "$1" || exit $?`, `printf '%s' "$r"`]);
    return out.toString("utf8");
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    return this.run("read", path, [path, String(maxBytes)], [
      ERRNO,
      `[ -e "$1" ] || fail 2 "no such file"`,
      `[ -d "$1" ] && fail 21 "it is a directory"`,
      `[ -r "$1" ] || fail 13 "permission denied"`,
      `head -c "$2" -- "$1"`,
    ], maxBytes);
  }

  async listDir(path: string): Promise<DirEntry[]> {
    const out = await this.run("readdir", path, [path], [
      ERRNO,
      STAT_FN,
      `[ -e "$1" ] || fail 2 "no such folder"`,
      `[ -d "$1" ] || fail 20 "not a folder"`,
      `cd -- "$1" || fail 13 "permission denied"`,
      `for f in .* *; do case $f in .|..) continue;; esac; [ -e "$f" ] || [ -L "$f" ] || continue;`,
      `  l=$(st "$f" 0) && printf '%s\\000%s\\000' "$f" "$l"; done`,
    ]);
    const parts = out.toString("utf8").split("\0");
    const entries: DirEntry[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const st = parseStat(parts[i + 1]!);
      if (st) entries.push({ name: parts[i]!, ...st });
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // Same semantics as the SFTP path: a symlink's target is written, an existing file keeps its mode, rename on the host.
  async writeFileAtomic(path: string, data: Buffer, opts: WriteOptions = {}): Promise<void> {
    const link = await this.lstat(path);
    const target = link?.type === "symlink" ? await this.realpath(path) : path;
    const existing = link?.type === "symlink" ? await this.stat(target) : link;
    if (existing?.type === "dir") throw fileError("write", path, this.where, 21, "it is a directory");
    const mode = (existing ? existing.mode : (opts.mode ?? 0o644)).toString(8);
    const tmp = posix.join(posix.dirname(target), `.${posix.basename(target)}.herd-${randomBytes(6).toString("hex")}.tmp`);
    const append = opts.append && existing ? "1" : "0";
    await this.run("write", path, [target, tmp, mode, append], [
      ERRNO,
      `umask 077; set -C`,
      `{ if [ "$4" = 1 ]; then cat -- "$1" || exit 1; fi; base64 -d || exit 1; } > "$2" <<'${END}' || { rm -f -- "$2"; fail 1 "could not write the temp file $2"; }`,
      ...base64Lines(data),
      END,
      `chmod "$3" "$2" && mv -f -- "$2" "$1" || { __rc=$?; rm -f -- "$2"; fail "$__rc" "could not replace $1"; }`,
    ]);
  }

  private async statOf(path: string, follow: boolean): Promise<FileStat | null> {
    try {
      const out = await this.run(follow ? "stat" : "lstat", path, [path, follow ? "1" : "0"], [STAT_FN, `st "$1" "$2" || exit $?`]);
      return parseStat(out.toString("utf8"));
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return null;
      throw err;
    }
  }

  /** Runs one script over `sh -s`: its stdout (at most `cap` bytes) or a coded error naming the operation and path. */
  private async run(op: string, path: string, fields: string[], body: string[], cap = 64 * 1024 * 1024): Promise<Buffer> {
    const r = await this.runScript(wrap(fields, body), cap, SCRIPT_TIMEOUT_MS);
    if (r.code === 0) return r.stdout;
    throw fileError(op, path, this.where, r.code, r.stderr.trim() || (r.code === null ? "no exit status (timed out?)" : `exit ${r.code}`));
  }
}

/** Follows symlinks one hop at a time into $r (no readlink -f on BusyBox), at most 40 hops as the kernel does. */
const RESOLVE_FN = [
  `resolve() {`,
  `  r=$1; __n=0`,
  `  while [ -L "$r" ]; do __n=$((__n+1)); [ $__n -gt 40 ] && fail 40 "too many levels of symbolic links"`,
  `    __t=$(readlink -- "$r") || fail 2 "cannot read the link $r"`,
  `    case $__t in /*) r=$__t;; *) r=$(dirname -- "$r")/$__t;; esac; done`,
  `}`,
].join("\n");

/** A failed exec-path file operation (the host answered) with a POSIX-like `code`, as the SFTP path gives. */
export class ExecFileError extends Error {
  override readonly name = "ExecFileError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function fileError(op: string, path: string, where: string, status: number | null, message: string): ExecFileError {
  return new ExecFileError(`${op} ${path} on ${where}: ${message}`, (status !== null && CODES[status]) || "EIO");
}

// Why: `ls -l`'s mode string (with s/S/t/T) as permission bits.
export function modeBits(s: string): number {
  if (s.length < 10) return 0;
  let m = 0;
  const bit = (i: number, v: number) => (s[i] !== "-" && s[i] !== "S" && s[i] !== "T" ? v : 0);
  m |= bit(1, 0o400) | bit(2, 0o200) | bit(3, 0o100) | bit(4, 0o40) | bit(5, 0o20) | bit(6, 0o10) | bit(7, 0o4) | bit(8, 0o2) | bit(9, 0o1);
  if (s[3] === "s" || s[3] === "S") m |= 0o4000;
  if (s[6] === "s" || s[6] === "S") m |= 0o2000;
  if (s[9] === "t" || s[9] === "T") m |= 0o1000;
  return m;
}

function parseStat(line: string): FileStat | null {
  const [type, mode, size, mtime] = line.trim().split(" ");
  if (!type || !mode) return null;
  const n = Number(size);
  return { type: type as FileType, mode: modeBits(mode), size: Number.isFinite(n) ? n : 0, mtimeMs: (Number(mtime) || 0) * 1000 };
}

// Why: a whole script's raw stdout, stderr and exit code over one exec channel, bounded in bytes and time.
export async function runRaw(conn: SshConnection, script: string, cap: number, timeoutMs: number): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const { channel, release } = await conn.exec(REMOTE_COMMAND);
  try {
    return await new Promise((resolve) => {
      const out: Buffer[] = [];
      let bytes = 0;
      let err = "";
      let code: number | null = null;
      channel.on("data", (d: Buffer) => {
        if (bytes >= cap) return;
        out.push(d.subarray(0, cap - bytes));
        bytes += d.length;
      });
      channel.on("error", () => channel.close());
      channel.stderr.on("data", (d: Buffer) => (err.length < 8192 ? (err += d.toString("utf8")) : undefined));
      channel.on("exit", (c: number | null) => (code = typeof c === "number" ? c : null));
      const timer = setTimeout(() => channel.close(), timeoutMs);
      channel.once("close", () => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(out), stderr: err });
      });
      channel.end(script);
    });
  } finally {
    release();
  }
}
