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
import { AgentGoneError, SshAgent } from "./ssh-agent.js";
import { SshConnection, type SshConnOptions } from "./ssh-conn.js";
import { sshExec, sshExecBg } from "./ssh-exec.js";
import { isSftpStatus, SftpFiles } from "./ssh-sftp.js";

export interface SshHostOptions extends Omit<SshConnOptions, "maxChannels"> {
  /**
   * "auto" (default): commands go through the host's agent (python3) when it can run there, else a new
   * exec channel each; "plain": always a new exec channel. MCP_HERD_SSH_EXEC=plain forces "plain".
   */
  execMode?: "auto" | "plain";
  /** The interpreter that runs the agent on the host (tests point it at a missing one). */
  agentInterpreter?: string;
}

/** How long an agent may take to say hello before the host is left on the plain path (until a reconnect). */
const AGENT_HELLO_BOUND_MS = 60_000;

function delay(ms: number): Promise<undefined> {
  return new Promise((r) => setTimeout(() => r(undefined), ms).unref());
}

// Why: the host primitives over SSH: commands through the host's agent (or `bash -s` exec channels), files over one SFTP session.
export class SshHostIO implements HostIO {
  readonly kind = "ssh" as const;
  private readonly conn: SshConnection;
  private readonly log: Logger;
  private homeDir: string | undefined;
  private readonly plainOnly: boolean;
  private current: SshAgent | undefined;
  private opening: Promise<SshAgent | undefined> | undefined;
  /** A start is taking long (a loaded host): commands take the plain path until its hello, without waiting. */
  private slowStart = false;
  /** The connection (by its number) on which the agent could not run: no new attempt until a reconnect. */
  private noAgentOn = -1;
  /** How many times the agent was started (1 while its channel stays up). */
  agentStarts = 0;

  constructor(private readonly opts: SshHostOptions) {
    this.log = opts.log.child(`ssh:${opts.target.alias}`);
    this.conn = new SshConnection({ ...opts, log: this.log });
    this.plainOnly = opts.execMode === "plain" || process.env.MCP_HERD_SSH_EXEC === "plain";
    for (const w of opts.target.warnings) this.log.warn(w);
  }

  /** SFTP sessions opened so far (1 while the pooled connection stays up). */
  get sftpSessionCount(): number {
    return this.conn.sftpOpens;
  }

  /**
   * The live agent, or null when this command takes the plain path: no python3 on the host, or the agent is
   * still starting after a connect timeout's wait (it goes on starting and takes over at its hello).
   */
  async agent(): Promise<SshAgent | null> {
    if (this.plainOnly) return null;
    const a = await this.agentInstance();
    if (!a) return null;
    if (a.state === "ready") return a;
    const ok = await Promise.race([a.ready, delay(this.slowStart ? 0 : this.opts.connectTimeoutMs)]);
    if (ok === undefined) {
      if (!this.slowStart) this.log.info("the SSH agent is slow to start; commands take the plain path until it is up");
      this.slowStart = true;
      return null;
    }
    this.slowStart = false;
    return ok ? a : null;
  }

  /** Connections opened so far (1 while the pooled connection stays up). */
  get connectionCount(): number {
    return this.conn.connects;
  }

  /** Opens the connection now (a probe): throws HostUnreachableError when the host cannot be reached. */
  async connect(): Promise<void> {
    await this.conn.client();
  }

  async exec(req: ExecRequest, opts: ExecOptions = {}): Promise<ExecResult> {
    const agent = await this.agent();
    // Let a pending socket close be seen first: a request written to a dead connection has an unknown outcome,
    // while the plain path finds a dead connection when it opens its channel and reports it as unreachable.
    if (agent) await new Promise<void>((r) => setImmediate(r));
    if (agent?.alive && !(await this.conn.isDead())) {
      try {
        return await agent.run(req, opts);
      } catch (err) {
        if (!(err instanceof AgentGoneError)) throw err;
      }
    }
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

  async close(): Promise<void> {
    const agent = this.current ?? (await this.opening?.catch(() => undefined));
    agent?.close();
    return this.conn.close();
  }

  /** The agent that is up or starting, a new one when there is none, undefined when it cannot run on this connection. */
  private agentInstance(): Promise<SshAgent | undefined> {
    const cur = this.current;
    if (cur?.alive && cur.state !== "failed") return Promise.resolve(cur);
    if (this.noAgentOn === this.conn.connects) return Promise.resolve(undefined);
    this.opening ??= this.startAgent().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async startAgent(): Promise<SshAgent | undefined> {
    await this.conn.client();
    const on = this.conn.connects;
    try {
      const agent = await SshAgent.start(this.conn, this.log, { helloTimeoutMs: Math.max(AGENT_HELLO_BOUND_MS, this.opts.connectTimeoutMs), interpreter: this.opts.agentInterpreter });
      this.current = agent;
      void agent.ready.then((ok) => {
        if (ok) this.agentStarts++;
        else this.noAgentOn = on;
      });
      return agent;
    } catch (err) {
      if (err instanceof HostUnreachableError) throw err;
      this.log.warn("could not start the SSH agent; using a new exec channel per command", { error: (err as Error).message });
      this.noAgentOn = on;
      return undefined;
    }
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
