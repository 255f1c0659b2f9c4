import type { SshTarget } from "../hosts/sshconfig.js";
import {
  HostUnreachableError,
  type BgRequest,
  type BgResult,
  type DirEntry,
  type ExecOptions,
  type ExecRequest,
  type ExecResult,
  type FileStat,
  type HostIO,
  type WriteOptions,
} from "../hosts/io.js";
import type { Logger } from "../log.js";
import { SshConnection } from "./ssh-conn.js";
import { sshExec, sshExecBg } from "./ssh-exec.js";
import { isSftpStatus, SftpFiles } from "./ssh-sftp.js";

export interface SshHostOptions {
  target: SshTarget;
  /** Bound on TCP connect + SSH handshake + auth (separate from any command timeout). */
  connectTimeoutMs: number;
  /** known_hosts files to use instead of the target's; new keys are appended to the first. */
  knownHostsFiles?: string[];
  /** Trust and record an unknown host key (never a changed one). Off by default. */
  acceptNewHostKey?: boolean;
  log: Logger;
  keepaliveIntervalMs?: number;
}

// Why: the host primitives over SSH: exec channels for commands (`bash -s`), the one SFTP session for files.
export class SshHostIO implements HostIO {
  readonly kind = "ssh" as const;
  private readonly conn: SshConnection;
  private readonly log: Logger;
  private homeDir: string | undefined;

  constructor(opts: SshHostOptions) {
    this.log = opts.log.child(`ssh:${opts.target.alias}`);
    this.conn = new SshConnection({ ...opts, log: this.log });
    for (const w of opts.target.warnings) this.log.warn(w);
  }

  /** Connections opened so far (1 while the pooled connection stays up). */
  get connectionCount(): number {
    return this.conn.connects;
  }

  /** Opens the connection now (a probe): throws HostUnreachableError when the host cannot be reached. */
  async connect(): Promise<void> {
    await this.conn.client();
  }

  exec(req: ExecRequest, opts: ExecOptions = {}): Promise<ExecResult> {
    return sshExec(this.conn, req, opts, this.log);
  }

  execBg(req: BgRequest): Promise<BgResult> {
    return sshExecBg(this.conn, req);
  }

  lstat(path: string): Promise<FileStat | null> {
    return this.files((f) => f.lstat(path));
  }

  stat(path: string): Promise<FileStat | null> {
    return this.files((f) => f.stat(path));
  }

  readFile(path: string, maxBytes: number): Promise<Buffer> {
    return this.files((f) => f.readFile(path, maxBytes));
  }

  writeFileAtomic(path: string, data: Buffer, opts?: WriteOptions): Promise<void> {
    return this.files((f) => f.writeFileAtomic(path, data, opts), false);
  }

  listDir(path: string): Promise<DirEntry[]> {
    return this.files((f) => f.listDir(path));
  }

  async home(): Promise<string> {
    this.homeDir ??= await this.files((f) => f.realpath("."));
    return this.homeDir;
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  /** Runs an SFTP operation; a read-only one is retried once on a fresh connection if the old one died under it. */
  private async files<T>(op: (f: SftpFiles) => Promise<T>, retry = true): Promise<T> {
    const attempt = async () => op(new SftpFiles(await this.conn.sftp(), this.conn.where));
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof HostUnreachableError || isSftpStatus(err)) throw err;
      this.conn.drop();
      if (!retry) throw new HostUnreachableError(`ssh ${this.conn.where}: SFTP failed: ${(err as Error).message}`, { cause: err });
      this.log.debug("SFTP failed; retrying on a fresh connection", { error: String(err) });
      try {
        return await attempt();
      } catch (again) {
        if (again instanceof HostUnreachableError || isSftpStatus(again)) throw again;
        throw new HostUnreachableError(`ssh ${this.conn.where}: SFTP failed: ${(again as Error).message}`, { cause: again });
      }
    }
  }
}
