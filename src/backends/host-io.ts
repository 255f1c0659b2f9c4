/**
 * The primitives a host must offer for the host tool set (shell, shell_bg, read/write/edit file,
 * list_dir, search_files). `backends/local.ts` implements them with node:child_process and node:fs,
 * `backends/ssh.ts` with ssh2 exec + SFTP; `hosts/toolset.ts` builds every tool on top of them once,
 * so the logic of edit_file, read_file paging, binary detection, result text, ... exists once.
 *
 * Contract changes must be additive: both backends implement this.
 */

export interface ExecRequest {
  /** A bash script: `bash -c <command>` locally, `bash -s` with the script on stdin over SSH. */
  command?: string;
  /** Or an argument vector, run without any shell (argv[0] looked up on PATH). Exactly one of command/argv. */
  argv?: string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Kill the whole process group after this long; the result says killed / stop_unconfirmed. */
  timeoutMs?: number;
  stdin?: Buffer;
  /** Output beyond this many bytes (per stream) is dropped and `truncated` set. */
  maxOutputBytes: number;
}

export interface ExecResult {
  exit_code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  duration_ms: number;
  timed_out: boolean;
  /** Set when the process group was signalled (timeout or abort): was it confirmed gone? */
  killed?: boolean;
  stop_unconfirmed?: boolean;
}

export interface ExecOptions {
  signal?: AbortSignal;
  /** Output as it arrives (for progress streaming). */
  onOutput?: (chunk: { stream: "stdout" | "stderr"; text: string }) => void;
}

export interface BgRequest {
  command: string;
  cwd?: string;
  /** Log file for stdout+stderr; a fresh one under the host's temp dir when absent. */
  log?: string;
  env?: Record<string, string>;
}

export interface BgResult {
  pid: number;
  pgid: number;
  log: string;
  /** File the exit code is written to when the job ends. */
  rc_file: string;
}

export type FileType = "file" | "dir" | "symlink" | "other";

export interface FileStat {
  type: FileType;
  size: number;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  mtimeMs: number;
}

export interface DirEntry extends FileStat {
  name: string;
}

export interface WriteOptions {
  append?: boolean;
  /** Mode for a new file; an existing file keeps its own. */
  mode?: number;
  /** Replace only if the file still has this SHA-256 right before the rename (else WriteConflictError); a backend that cannot check it there ignores it. */
  ifSha256?: string;
}

export interface HostIO {
  readonly kind: "local" | "ssh";
  exec(req: ExecRequest, opts?: ExecOptions): Promise<ExecResult>;
  execBg(req: BgRequest): Promise<BgResult>;
  /** null when the path does not exist; does not follow a final symlink. */
  lstat(path: string): Promise<FileStat | null>;
  /** null when the path does not exist; follows symlinks. */
  stat(path: string): Promise<FileStat | null>;
  /** At most maxBytes from the start of the file. */
  readFile(path: string, maxBytes: number): Promise<Buffer>;
  /** Temp file in the same folder + rename (append: read-modify-write the same way); keeps an existing file's mode. */
  writeFileAtomic(path: string, data: Buffer, opts?: WriteOptions): Promise<void>;
  listDir(path: string): Promise<DirEntry[]>;
  /** The user's home folder on that host (for relative paths and `~`). */
  home(): Promise<string>;
  /** Which paths served the call (SSH: files over sftp or exec, the shell, agent or exec); put in results as `transport`. */
  transport?(): Record<string, string>;
  close(): Promise<void>;
}

/** The file changed since it was read: the write was not done. */
export class WriteConflictError extends Error {
  override readonly name = "WriteConflictError";
}

/** A failure to reach the host (not a failure of the operation): callers may fall back. */
export class HostUnreachableError extends Error {
  override readonly name = "HostUnreachableError";
}
