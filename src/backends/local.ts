import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, constants as fsc, openSync, promises as fsp, type Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { dirname, basename, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { OutputCollector, resolveHostPath, sha256 } from "./host-files.js";
import { withoutOwnSecrets } from "./child/env.js";
import { groupAlive, stopGroup as stopTree } from "./child/kill.js";
import { unwatchGroup, watchGroup } from "./child/reaper.js";
import { spawnStarted } from "../util/spawn.js";
import type {
  BgRequest,
  BgResult,
  DirEntry,
  ExecOptions,
  ExecRequest,
  ExecResult,
  FileStat,
  HostIO,
  WriteOptions,
} from "./host-io.js";
import { WriteConflictError } from "./host-io.js";

/** After the main process exits, how long to wait for its output pipes to close (held by leftover children). */
const PIPE_DRAIN_MS = 500;
/** Time between SIGTERM and SIGKILL when stopping a process group. */
const KILL_GRACE_MS = 1500;
/** How long after SIGKILL we look for the group to be gone before saying stop_unconfirmed. */
const KILL_CONFIRM_MS = 2000;

/** The host primitives on this machine: bash in its own process group, node:fs with atomic writes. */
export class LocalHostIO implements HostIO {
  readonly kind = "local" as const;
  private readonly homeDir: string;
  /** Process groups of commands still running, stopped by close(). */
  private readonly running = new Set<() => void>();

  constructor(opts: { home?: string } = {}) {
    this.homeDir = opts.home ?? homedir();
  }

  private abs(path: string): string {
    return resolveHostPath(path, this.homeDir);
  }

  async exec(req: ExecRequest, opts: ExecOptions = {}): Promise<ExecResult> {
    if ((req.command === undefined) === (req.argv === undefined || req.argv.length === 0)) {
      throw new Error("exec: pass exactly one of command or argv");
    }
    const cwd = this.abs(req.cwd ?? "~");
    const st = await this.stat(cwd);
    if (!st || st.type !== "dir") throw new Error(`working folder ${cwd} does not exist or is not a folder`);
    const [file, args] = req.command !== undefined ? ["bash", ["-c", req.command]] : [req.argv![0]!, req.argv!.slice(1)];
    const started = Date.now();
    const child = await spawnStarted(file, args, {
      cwd,
      env: { ...withoutOwnSecrets(process.env), ...req.env },
      detached: true,
      stdio: [req.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    if (child.pid !== undefined) watchGroup(child.pid);
    const out = new OutputCollector(req.maxOutputBytes);
    const err = new OutputCollector(req.maxOutputBytes);
    const decoders = { stdout: new StringDecoder("utf8"), stderr: new StringDecoder("utf8") };
    const onData = (stream: "stdout" | "stderr", into: OutputCollector) => (b: Buffer) => {
      into.push(b);
      if (opts.onOutput) opts.onOutput({ stream, text: decoders[stream].write(b) });
    };
    child.stdout!.on("data", onData("stdout", out));
    child.stderr!.on("data", onData("stderr", err));
    if (req.stdin) {
      child.stdin!.on("error", () => {});
      child.stdin!.end(req.stdin);
    }

    let timedOut = false;
    let stopping: Promise<{ killed: boolean; stop_unconfirmed: boolean }> | undefined;
    // When a stop cannot be confirmed, the exit may never come: stop waiting for it shortly after.
    let giveUp: (v: { code: null; signal: null }) => void = () => {};
    const gaveUp = new Promise<{ code: null; signal: null }>((r) => (giveUp = r));
    const stop = () => {
      if (child.pid === undefined) return;
      stopping ??= stopGroup(child.pid).then((r) => {
        if (r.stop_unconfirmed) setTimeout(() => giveUp({ code: null, signal: null }), 1000).unref();
        return r;
      });
    };
    const timer =
      req.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, req.timeoutMs)
        : undefined;
    const onAbort = () => stop();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) stop();
    this.running.add(onAbort);

    const exit = waitForExit(child);
    try {
      const { code, signal } = await Promise.race([exit, gaveUp]);
      const stopped = stopping ? await stopping : undefined;
      const pgid = child.pid;
      // A process left in the group after a stop that claimed success is still a failure to stop.
      const unconfirmed = stopped !== undefined && pgid !== undefined && (stopped.stop_unconfirmed || groupAlive(pgid));
      return {
        exit_code: code,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        truncated: out.truncated || err.truncated,
        duration_ms: Date.now() - started,
        timed_out: timedOut,
        ...(stopped ? { killed: !unconfirmed, stop_unconfirmed: unconfirmed } : {}),
      };
    } finally {
      if (timer) clearTimeout(timer);
      if (child.pid !== undefined) unwatchGroup(child.pid);
      opts.signal?.removeEventListener("abort", onAbort);
      this.running.delete(onAbort);
    }
  }

  async execBg(req: BgRequest): Promise<BgResult> {
    const cwd = this.abs(req.cwd ?? "~");
    const st = await this.stat(cwd);
    if (!st || st.type !== "dir") throw new Error(`working folder ${cwd} does not exist or is not a folder`);
    const log = req.log ? this.abs(req.log) : join(tmpdir(), `mcp-herd-bg-${Date.now()}-${randomBytes(4).toString("hex")}.log`);
    const rcFile = `${log}.rc`;
    await fsp.rm(rcFile, { force: true });
    const fd = openSync(log, "a");
    try {
      // detached: true makes the job a session and group leader (setsid); user text is only in "$1".
      const child = await spawnStarted("bash", ["-c", 'bash -c "$1"; echo $? > "$2"', "mcp-herd-bg", req.command, rcFile], {
        cwd,
        env: { ...withoutOwnSecrets(process.env), ...req.env },
        detached: true,
        stdio: ["ignore", fd, fd],
      });
      child.unref();
      return { pid: child.pid!, pgid: child.pid!, log, rc_file: rcFile };
    } finally {
      closeSync(fd);
    }
  }

  async lstat(path: string): Promise<FileStat | null> {
    return statOrNull(() => fsp.lstat(this.abs(path)));
  }

  async stat(path: string): Promise<FileStat | null> {
    return statOrNull(() => fsp.stat(this.abs(path)));
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const fh = await openRegular(this.abs(path));
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      while (total < maxBytes) {
        const buf = Buffer.alloc(Math.min(1024 * 1024, maxBytes - total));
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        chunks.push(buf.subarray(0, bytesRead));
        total += bytesRead;
      }
      return Buffer.concat(chunks);
    } finally {
      await fh.close();
    }
  }

  async writeFileAtomic(path: string, data: Buffer, opts: WriteOptions = {}): Promise<void> {
    let target = this.abs(path);
    const existing = await this.stat(target);
    if (existing) target = await fsp.realpath(target);
    const body = opts.append && existing ? Buffer.concat([await this.readFile(target, Number.MAX_SAFE_INTEGER), data]) : data;
    const tmp = join(dirname(target), `.${basename(target)}.mcp-herd-${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
    try {
      const fh = await fsp.open(tmp, "wx", opts.mode ?? 0o666);
      try {
        await fh.writeFile(body);
        if (existing) await fh.chmod(existing.mode);
        await fh.sync();
      } finally {
        await fh.close();
      }
      if (opts.ifSha256 !== undefined && existing) await replaceIfUnchanged(tmp, target, opts.ifSha256);
      else await fsp.rename(tmp, target);
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => {});
      throw e;
    }
  }

  async listDir(path: string): Promise<DirEntry[]> {
    const dir = this.abs(path);
    const names = await fsp.readdir(dir);
    const out: DirEntry[] = [];
    for (let i = 0; i < names.length; i += 64) {
      const batch = await Promise.all(
        names.slice(i, i + 64).map(async (name) => {
          const st = await this.lstat(join(dir, name));
          return st ? { name, ...st } : null;
        }),
      );
      for (const e of batch) if (e) out.push(e);
    }
    return out;
  }

  async home(): Promise<string> {
    return this.homeDir;
  }

  /** Stops every command still running (background jobs from execBg are meant to outlive us and are left alone). */
  async close(): Promise<void> {
    for (const stop of this.running) stop();
    const until = Date.now() + 2 * (KILL_GRACE_MS + KILL_CONFIRM_MS) + 1500;
    while (this.running.size > 0 && Date.now() < until) await sleep(50);
  }
}

// A path checked as a regular file may be swapped for a FIFO before it is opened; a blocking open() of a
// FIFO holds one of libuv's four file threads until a writer comes, and a few such opens freeze every file
// tool. O_NONBLOCK makes that open return at once; fstat of the opened file then refuses what is not regular.
/** Opens a file for reading without ever blocking, refusing anything that is not a regular file. */
async function openRegular(path: string): Promise<FileHandle> {
  const fh = await fsp.open(path, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOCTTY);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${path} is not a regular file (${kindOf(st)}); refused, reading it could block`);
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Reads an open file from `position` to its end. */
async function readFrom(fh: FileHandle, position: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (;;) {
    const buf = Buffer.alloc(1024 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, position);
    if (bytesRead === 0) return Buffer.concat(chunks);
    chunks.push(buf.subarray(0, bytesRead));
    position += bytesRead;
  }
}

// The check and the rename cannot be one step: a writer may still append to the old file in between,
// or with a descriptor it opened before the rename. Holding the old file open shows those late bytes;
// they are appended to the new file, so an append is never lost (at worst it lands a little later).
/** Renames tmp over target only if target still hashes to `expected`; carries over appends that raced the rename. */
async function replaceIfUnchanged(tmp: string, target: string, expected: string): Promise<void> {
  // Our own edits of one file take turns: two checks before either rename would both pass.
  const prev = replacing.get(target) ?? Promise.resolve();
  const mine = prev.then(() => checkAndRename(tmp, target, expected));
  const settled = mine.then(
    () => undefined,
    () => undefined,
  );
  replacing.set(target, settled);
  try {
    await mine;
  } finally {
    if (replacing.get(target) === settled) replacing.delete(target);
  }
}

/** Replacements in flight, by target path. */
const replacing = new Map<string, Promise<void>>();

async function checkAndRename(tmp: string, target: string, expected: string): Promise<void> {
  const old = await openRegular(target);
  try {
    const seen = await readFrom(old, 0);
    if (sha256(seen) !== expected) throw new WriteConflictError(`${target} changed since it was read`);
    await fsp.rename(tmp, target);
    let carried = seen.length;
    for (let i = 0; i < 3; i++) {
      const late = await readFrom(old, carried);
      if (late.length > 0) {
        await fsp.appendFile(target, late);
        carried += late.length;
      }
      await sleep(5);
    }
  } finally {
    await old.close();
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return "a FIFO";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isSocket()) return "a socket";
  if (st.isDirectory()) return "a folder";
  return "not a file";
}

function toFileStat(st: Stats): FileStat {
  const type = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other";
  return { type, size: st.size, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
}

async function statOrNull(fn: () => Promise<Stats>): Promise<FileStat | null> {
  try {
    return toFileStat(await fn());
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw e;
  }
}

/**
 * SIGTERM to the whole group and to every descendant (one that moved to another group with setsid is
 * not reached through the group), SIGKILL after a grace period, then confirm that none of them is left.
 */
async function stopGroup(pgid: number): Promise<{ killed: boolean; stop_unconfirmed: boolean }> {
  const { gone } = await stopTree(pgid, KILL_GRACE_MS, KILL_CONFIRM_MS);
  return { killed: gone, stop_unconfirmed: !gone };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves on exit, once the output pipes closed or PIPE_DRAIN_MS later (a leftover child may hold them). */
function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    let exited: { code: number | null; signal: string | null } | undefined;
    let done = false;
    const finish = () => {
      if (done || !exited) return;
      done = true;
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(exited);
    };
    child.once("error", (e) => {
      if (done) return;
      done = true;
      reject(new Error(`cannot start ${child.spawnfile}: ${e.message}`));
    });
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      setTimeout(finish, PIPE_DRAIN_MS).unref();
    });
    child.once("close", finish);
  });
}
