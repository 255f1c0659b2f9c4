import { randomBytes } from "node:crypto";
import { posix } from "node:path";
import type { FileEntryWithStats, SFTPWrapper, Stats } from "ssh2";
import type { DirEntry, FileStat, FileType, WriteOptions } from "../host-io.js";

const CHUNK = 256 * 1024;
const CODES: Record<number, string> = { 2: "ENOENT", 3: "EACCES", 4: "EIO", 8: "ENOTSUP" };

/** An SFTP failure with a POSIX-like `code` (ENOENT, EACCES, ...) and the path in the message. */
class SftpError extends Error {
  override readonly name = "SftpError";
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// Why: a status reply from the server (the operation failed) as opposed to a lost connection.
export function isSftpStatus(err: unknown): boolean {
  return err instanceof SftpError || typeof (err as { code?: unknown })?.code === "number";
}

// Why: file primitives over the host's one SFTP session; every handle opened here is closed here.
export class SftpFiles {
  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly where: string,
  ) {}

  async lstat(path: string): Promise<FileStat | null> {
    return this.statWith("lstat", path);
  }

  async stat(path: string): Promise<FileStat | null> {
    return this.statWith("stat", path);
  }

  async realpath(path: string): Promise<string> {
    return this.call<string>("realpath", path, (cb) => this.sftp.realpath(path, cb));
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const handle = await this.call<Buffer>("open", path, (cb) => this.sftp.open(path, "r", cb));
    try {
      const parts: Buffer[] = [];
      let pos = 0;
      while (pos < maxBytes) {
        const want = Math.min(CHUNK, maxBytes - pos);
        const buf = Buffer.alloc(want);
        const n = await this.call<number>("read", path, (cb) =>
          this.sftp.read(handle, buf, 0, want, pos, (err, bytesRead) => cb(err ?? undefined, bytesRead)),
        ).catch((err: unknown) => {
          if ((err as SftpError).code === "EOF") return 0;
          throw err;
        });
        if (n === 0) break;
        parts.push(buf.subarray(0, n));
        pos += n;
      }
      return Buffer.concat(parts);
    } finally {
      await this.closeHandle(handle);
    }
  }

  async listDir(path: string): Promise<DirEntry[]> {
    const list = await this.call<FileEntryWithStats[]>("readdir", path, (cb) => this.sftp.readdir(path, cb));
    return list
      .filter((e) => e.filename !== "." && e.filename !== "..")
      .map((e) => ({ name: e.filename, ...toStat(e.attrs) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async writeFileAtomic(path: string, data: Buffer, opts: WriteOptions = {}): Promise<void> {
    let target = path;
    const link = await this.lstat(path);
    if (link?.type === "symlink") target = await this.realpath(path);
    const existing = link?.type === "symlink" ? await this.stat(target) : link;
    if (existing?.type === "dir") throw new SftpError(`write ${path} on ${this.where}: it is a directory`, "EISDIR");
    const mode = existing ? existing.mode : (opts.mode ?? 0o644);
    const content = opts.append && existing ? Buffer.concat([await this.readFile(target, existing.size), data]) : data;
    const tmp = posix.join(posix.dirname(target), `.${posix.basename(target)}.herd-${randomBytes(6).toString("hex")}.tmp`);
    const handle = await this.call<Buffer>("create", tmp, (cb) => this.sftp.open(tmp, "wx", { mode }, cb));
    let handleOpen = true;
    try {
      const writes: Promise<void>[] = [];
      for (let pos = 0; pos < content.length; pos += CHUNK) {
        const part = content.subarray(pos, pos + CHUNK);
        writes.push(this.call<void>("write", tmp, (cb) => this.sftp.write(handle, part, 0, part.length, pos, (err) => cb(err ?? undefined))));
      }
      await Promise.all(writes);
      await this.call("chmod", tmp, (cb) => this.sftp.fchmod(handle, mode, (err) => cb(err ?? undefined)));
      handleOpen = false;
      await this.call("close", tmp, (cb) => this.sftp.close(handle, (err) => cb(err ?? undefined)));
      await this.rename(tmp, target);
    } catch (err) {
      if (handleOpen) await this.closeHandle(handle);
      await this.call("unlink", tmp, (cb) => this.sftp.unlink(tmp, (e) => cb(e ?? undefined))).catch(() => undefined);
      throw err;
    }
  }

  /** posix-rename@openssh.com replaces the target atomically; plain SFTP v3 rename refuses an existing target. */
  private async rename(from: string, to: string): Promise<void> {
    const ext = (this.sftp as unknown as { _extensions?: Record<string, string> })._extensions ?? {};
    if (ext["posix-rename@openssh.com"] === "1") {
      return this.call("rename", to, (cb) => this.sftp.ext_openssh_rename(from, to, (err) => cb(err ?? undefined)));
    }
    return this.call("rename", to, (cb) => this.sftp.rename(from, to, (err) => cb(err ?? undefined)));
  }

  private async statWith(op: "stat" | "lstat", path: string): Promise<FileStat | null> {
    try {
      const st = await this.call<Stats>(op, path, (cb) => this.sftp[op](path, cb));
      return toStat(st);
    } catch (err) {
      if ((err as SftpError).code === "ENOENT") return null;
      throw err;
    }
  }

  private async closeHandle(handle: Buffer): Promise<void> {
    await new Promise<void>((resolve) => this.sftp.close(handle, () => resolve()));
  }

  private call<T>(op: string, path: string, run: (cb: (err: Error | undefined | null, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        run((err, value) => (err ? reject(this.wrap(op, path, err)) : resolve(value as T)));
      } catch (err) {
        reject(err);
      }
    });
  }

  private wrap(op: string, path: string, err: Error & { code?: unknown }): Error {
    if (typeof err.code !== "number") return err;
    const code = err.code === 1 ? "EOF" : (CODES[err.code] ?? "EIO");
    return new SftpError(`${op} ${path} on ${this.where}: ${err.message}`, code, { cause: err });
  }
}

function toStat(st: { mode: number; size: number; mtime: number }): FileStat {
  const fmt = st.mode & 0o170000;
  const type: FileType = fmt === 0o100000 ? "file" : fmt === 0o040000 ? "dir" : fmt === 0o120000 ? "symlink" : "other";
  return { type, size: st.size, mode: st.mode & 0o7777, mtimeMs: st.mtime * 1000 };
}
