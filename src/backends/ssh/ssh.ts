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
} from "../host-io.js";
import type { Logger } from "../../log.js";
import { AgentGoneError, SshAgent } from "./agent.js";
import { SshConnection, type SshConnOptions } from "./conn.js";
import { sshExec, sshExecBg, type ScriptRunner } from "./exec.js";
import { ExecFileError, ExecFiles, runRaw } from "./execfiles.js";
import { probeHost, type HostCaps } from "./probe.js";
import { ShellSession } from "./session.js";
import { isSftpStatus, SftpFiles } from "./sftp.js";

/** Which paths serve a host's calls now: files (SFTP or the exec path), the shell, and how commands run. */
export interface SshPaths {
  files: "sftp" | "exec" | "unknown";
  shell: "bash" | "sh" | "unknown";
  /** The sh flavour (`dash`, `busybox`, `bash`) as /bin/sh names it. */
  sh?: string;
  commands: "agent" | "shell-session" | "exec" | "unknown";
}

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
  private capsOf: { on: number; caps: Promise<HostCaps> } | undefined;
  private lastCaps: HostCaps | undefined;
  /** The connection (by its number) whose SFTP subsystem is missing or refused: files take the exec path there. */
  private noSftpOn = -1;
  /** The persistent sh session (hosts without the agent), and the connection on which it could not start. */
  private session: ShellSession | undefined;
  private sessionOpening: Promise<ShellSession | undefined> | undefined;
  private noSessionOn = -1;

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
    if (!agent && !this.plainOnly) {
      const session = await this.freeSession();
      // Checked again after the await: run() marks the session busy before it yields.
      if (session?.alive && !session.busy) return session.run(req, opts);
    }
    return sshExec(this.conn, req, opts, this.log, (await this.caps()).shell);
  }

  /** The shell session when the agent cannot run and the session is idle; undefined: take a new exec channel. */
  private async freeSession(): Promise<ShellSession | undefined> {
    const caps = await this.caps();
    const on = this.conn.connects;
    if (caps.python3 && this.noAgentOn !== on) return undefined;
    const cur = this.session;
    if (cur?.alive) return cur.busy ? undefined : cur;
    if (this.noSessionOn === on) return undefined;
    if (this.sessionOpening) return undefined;
    this.sessionOpening = ShellSession.open(this.conn, caps.shell, this.log)
      .then((s) => {
        if (!s) {
          this.noSessionOn = on;
          this.log.info("no persistent shell session on this host; commands take a new exec channel each");
        }
        return (this.session = s);
      }, (err: unknown) => {
        if (err instanceof HostUnreachableError) throw err;
        this.noSessionOn = on;
        return undefined;
      })
      .finally(() => (this.sessionOpening = undefined));
    const s = await this.sessionOpening;
    return s && !s.busy ? s : undefined;
  }

  async execBg(req: BgRequest): Promise<BgResult> {
    return sshExecBg(this.conn.where, this.runScript, req, (await this.caps()).shell);
  }

  /** A whole `sh -s` script: through the agent when it is up (~1 ms), else on a new exec channel. */
  private readonly runScript: ScriptRunner = async (script, cap, timeoutMs) => {
    const agent = await this.agent();
    if (agent) await new Promise<void>((r) => setImmediate(r));
    if (agent?.alive && !(await this.conn.isDead())) {
      try {
        return await agent.runScript(script, cap, timeoutMs);
      } catch (err) {
        if (!(err instanceof AgentGoneError)) throw err;
      }
    }
    if (!agent && !this.plainOnly) {
      const session = await this.freeSession();
      if (session?.alive && !session.busy) return session.runScript(script, cap, timeoutMs);
    }
    return runRaw(this.conn, script, cap, timeoutMs);
  };

  /** What the host offers (asked once per connection): its shell, python3 for the agent, the tools its scripts need. */
  async caps(): Promise<HostCaps> {
    await this.conn.client();
    const on = this.conn.connects;
    if (this.capsOf?.on !== on) {
      const caps = probeHost(this.conn, this.opts.connectTimeoutMs).then((c) => (this.lastCaps = c));
      void this.fileOps().catch(() => undefined);
      this.capsOf = { on, caps };
      caps.catch(() => this.capsOf?.caps === caps && (this.capsOf = undefined));
    }
    return this.capsOf.caps;
  }

  /** Which paths served the latest calls (after a reconnect they are asked again). */
  paths(): SshPaths {
    const c = this.lastCaps;
    const on = this.conn.connects;
    return {
      files: this.noSftpOn === on ? "exec" : this.conn.sftpOpens > 0 ? "sftp" : "unknown",
      shell: c?.shell ?? "unknown",
      ...(c ? { sh: c.sh } : {}),
      commands:
        this.current?.alive && this.current.state === "ready" ? "agent"
        : this.session?.alive ? "shell-session"
        : this.noAgentOn === on || this.plainOnly ? "exec"
        : "unknown",
    };
  }

  /** What serves this host (doctor): SFTP or not, shell, agent or fallback, ProxyCommand; connects and asks. */
  async describe(): Promise<{ sftp: boolean; shell: string; sh: string; agent: boolean; session: boolean; python3: boolean; proxyCommand: boolean }> {
    const caps = await this.caps();
    await this.fileOps();
    const agent = await this.agent();
    const session = agent ? undefined : await this.freeSession();
    const on = this.conn.connects;
    return {
      sftp: this.noSftpOn !== on,
      shell: caps.shell,
      sh: caps.sh,
      agent: agent !== null,
      session: session !== undefined,
      python3: caps.python3,
      proxyCommand: this.opts.target.proxyCommand !== undefined,
    };
  }

  /** The structured `transport` note every result of this host carries. */
  transport(): Record<string, string> {
    const p = this.paths();
    return { files: p.files, shell: p.shell, commands: p.commands };
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

  /** SFTP when the host has it, else the exec path (content on stdin of `sh -s`) for the rest of this connection. */
  private async fileOps(): Promise<SftpFiles | ExecFiles> {
    await this.conn.client();
    const on = this.conn.connects;
    if (this.noSftpOn !== on) {
      try {
        return new SftpFiles(await this.conn.sftp(), this.conn.where);
      } catch (err) {
        if (err instanceof HostUnreachableError || (await this.conn.isDead())) throw err;
        this.noSftpOn = on;
        this.log.info("no SFTP on this host; file tools take the exec path", { error: (err as Error).message });
      }
    }
    return new ExecHome(this.conn.where, this.runScript, () => this.caps());
  }

  async close(): Promise<void> {
    const agent = this.current ?? (await this.opening?.catch(() => undefined));
    agent?.close();
    this.session?.close();
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
      const caps = await this.caps();
      if (!caps.python3 && this.opts.agentInterpreter === undefined) {
        this.log.info("no python3 on this host; commands take a new exec channel each");
        this.noAgentOn = on;
        return undefined;
      }
      const agent = await SshAgent.start(this.conn, this.log, {
        helloTimeoutMs: Math.max(AGENT_HELLO_BOUND_MS, this.opts.connectTimeoutMs),
        interpreter: this.opts.agentInterpreter,
        shell: caps.shell,
      });
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

  /** Runs a file operation; a read-only one is retried once on a fresh connection if the old one died under it. */
  private async files<T>(op: (f: SftpFiles | ExecFiles) => Promise<T>, retry = true): Promise<T> {
    const attempt = async () => op(await this.fileOps());
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof HostUnreachableError || isSftpStatus(err) || err instanceof ExecFileError) throw err;
      this.conn.drop();
      if (!retry) throw new HostUnreachableError(`ssh ${this.conn.where}: SFTP failed: ${(err as Error).message}`, { cause: err });
      this.log.debug("SFTP failed; retrying on a fresh connection", { error: String(err) });
      try {
        return await attempt();
      } catch (again) {
        if (again instanceof HostUnreachableError || isSftpStatus(again) || again instanceof ExecFileError) throw again;
        throw new HostUnreachableError(`ssh ${this.conn.where}: SFTP failed: ${(again as Error).message}`, { cause: again });
      }
    }
  }
}

/** The exec path's files, with `realpath(".")` answered by the login folder the probe saw. */
class ExecHome extends ExecFiles {
  constructor(
    where: string,
    run: ScriptRunner,
    private readonly capsNow: () => Promise<HostCaps>,
  ) {
    super(where, run);
  }

  override async realpath(path: string): Promise<string> {
    return path === "." ? (await this.capsNow()).home : super.realpath(path);
  }
}
