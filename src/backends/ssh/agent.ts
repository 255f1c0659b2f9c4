import type { ClientChannel } from "ssh2";
import type { ExecOptions, ExecRequest, ExecResult } from "../host-io.js";
import type { Logger } from "../../log.js";
import { AGENT_VERSION, agentPreamble } from "./agent-source.js";
import type { SshConnection } from "./conn.js";
import { Capture, markStopped } from "./exec.js";
import { checkedRequest, type HostShell } from "./script.js";

/** How long past its timeout (or after a cancel) a command may go unreported before we stop waiting for the agent. */
const REPORT_GRACE_MS = 15_000;
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** The agent channel was gone before the request was written: the command never ran, it may run elsewhere. */
export class AgentGoneError extends Error {
  override readonly name = "AgentGoneError";
}

interface Pending {
  stdout: Capture;
  stderr: Capture;
  started: number;
  /** A script run (runScript): the raw bytes are wanted, not an ExecResult. */
  raw?: (r: { code: number | null; stdout: Buffer; stderr: string }) => void;
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
  done: () => void;
}

interface Frame {
  t: string;
  id?: number;
  v?: number;
  pid?: number;
  s?: number;
  d?: string;
  c?: number | null;
  st?: "timeout" | "abort" | null;
  k?: boolean | null;
  tr?: [boolean, boolean];
}

// Why: the SSH fast path: one persistent agent process per host on one channel runs many commands at once, ~1 ms each.
export class SshAgent {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private partial: Buffer = Buffer.alloc(0);
  private agentStderr = "";
  private greeted: (ok: boolean) => void = () => {};
  private closeReason = "";
  /** False once the channel closed: no request is written to it any more. */
  alive = true;
  /** The agent's process id on the host. */
  pid = 0;
  /** "starting" until its hello, "ready" after it, "failed" when it never said hello. */
  state: "starting" | "ready" | "failed" = "starting";
  /** Settles when the agent said hello (true) or cannot run (false). */
  readonly ready: Promise<boolean>;

  private constructor(
    private readonly where: string,
    private readonly channel: ClientChannel,
    private readonly release: () => void,
    private readonly log: Logger,
    private readonly shell: HostShell,
  ) {
    channel.on("data", (d: Buffer) => this.onData(d));
    channel.stderr.on("data", (d: Buffer) => {
      if (this.agentStderr.length < 4096) this.agentStderr += d.toString("utf8");
    });
    channel.on("error", (err: Error) => log.debug("agent channel error", { host: where, error: err.message }));
    channel.on("exit", (code: number | null, signal?: string) => (this.closeReason = `the agent exited with ${signal ? `signal ${signal}` : `code ${code}`}`));
    channel.once("close", () => this.onClose());
    this.ready = new Promise<boolean>((resolve) => (this.greeted = resolve)).then((ok) => {
      this.state = ok ? "ready" : "failed";
      return ok;
    });
  }

  /**
   * Starts the agent on the host and returns at once; `ready` says whether it runs (false: no python3 there,
   * or no hello within helloTimeoutMs), so the caller keeps the plain path.
   */
  static async start(conn: SshConnection, log: Logger, opts: { helloTimeoutMs: number; interpreter?: string; shell?: HostShell }): Promise<SshAgent> {
    const shell = opts.shell ?? "bash";
    const preamble = agentPreamble(opts.interpreter, shell === "bash");
    const { channel, release } = await conn.exec(preamble.command ?? "bash -s");
    const agent = new SshAgent(conn.where, channel, release, log, shell);
    const timer = setTimeout(() => agent.greeted(false), opts.helloTimeoutMs);
    channel.write(preamble.stdin);
    void agent.ready.then((ok) => {
      clearTimeout(timer);
      if (ok) return;
      agent.close();
      const why = agent.agentStderr.trim() || agent.closeReason || `no answer within ${opts.helloTimeoutMs} ms`;
      log.info("no SSH fast path on this host; using a new exec channel per command", { host: conn.where, why: why.slice(0, 300) });
    });
    return agent;
  }

  /** Runs one command through the agent; throws AgentGoneError (nothing ran) when the channel is already gone. */
  run(req: ExecRequest, opts: ExecOptions = {}, raw?: Pending["raw"]): Promise<ExecResult> {
    const { argv, env } = checkedRequest(req, this.shell);
    if (!this.alive || this.state !== "ready") throw new AgentGoneError(`ssh ${this.where}: the agent is not running`);
    const id = this.nextId++;
    const emit = opts.onOutput;
    return new Promise<ExecResult>((resolve, reject) => {
      let guard: NodeJS.Timeout | undefined;
      const onAbort = () => {
        this.send({ t: "kill", id });
        clearTimeout(guard);
        guard = setTimeout(() => this.giveUp(id, "abort"), REPORT_GRACE_MS);
      };
      const p: Pending = {
        stdout: new Capture(req.maxOutputBytes, emit && ((text) => emit({ stream: "stdout", text }))),
        stderr: new Capture(req.maxOutputBytes, emit && ((text) => emit({ stream: "stderr", text }))),
        started: Date.now(),
        ...(raw ? { raw } : {}),
        resolve,
        reject,
        done: () => {
          clearTimeout(guard);
          opts.signal?.removeEventListener("abort", onAbort);
          this.pending.delete(id);
        },
      };
      this.pending.set(id, p);
      this.send({
        t: "run",
        id,
        argv: argv.map(b64),
        cwd: req.cwd ? b64(req.cwd) : null,
        env: env.map(([k, v]) => [b64(k), b64(v)]),
        in: req.stdin?.length ? req.stdin.toString("base64") : null,
        to: req.timeoutMs === undefined ? null : req.timeoutMs / 1000,
        cap: req.maxOutputBytes,
      });
      if (req.timeoutMs !== undefined) guard = setTimeout(() => this.giveUp(id, "timeout"), req.timeoutMs + REPORT_GRACE_MS);
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Runs a POSIX sh script (on the stdin of `sh -s`) through the agent: its raw stdout, stderr and exit code. */
  runScript(script: string, cap: number, timeoutMs: number): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    return new Promise((resolve, reject) => {
      this.run({ argv: ["sh", "-s"], stdin: Buffer.from(script, "utf8"), maxOutputBytes: cap, timeoutMs }, {}, resolve).catch(reject);
    });
  }

  /** Ends the agent: it stops every command still running, then exits. */
  close(): void {
    if (!this.alive) return;
    this.channel.end();
    setTimeout(() => this.channel.close(), 10_000).unref();
  }

  private send(msg: object): void {
    if (this.alive) this.channel.write(JSON.stringify(msg) + "\n");
  }

  private onData(d: Buffer): void {
    let start = 0;
    for (let nl = d.indexOf(10); nl >= 0; nl = d.indexOf(10, start)) {
      const line = this.partial.length ? Buffer.concat([this.partial, d.subarray(start, nl)]) : d.subarray(start, nl);
      this.partial = Buffer.alloc(0);
      start = nl + 1;
      this.onLine(line);
    }
    if (start < d.length) this.partial = Buffer.concat([this.partial, d.subarray(start)]);
  }

  private onLine(line: Buffer): void {
    let f: Frame;
    try {
      f = JSON.parse(line.toString("utf8")) as Frame;
    } catch {
      this.log.warn("the SSH agent wrote a line that is not a frame", { host: this.where, line: line.toString("utf8").slice(0, 200) });
      return;
    }
    if (f.t === "hello") {
      this.pid = f.pid ?? 0;
      return this.greeted(f.v === AGENT_VERSION);
    }
    const p = f.id === undefined ? undefined : this.pending.get(f.id);
    if (!p) return;
    if (f.t === "o") (f.s === 2 ? p.stderr : p.stdout).push(Buffer.from(f.d ?? "", "base64"));
    else if (f.t === "x") this.finish(p, f);
  }

  private finish(p: Pending, f: Frame): void {
    p.done();
    p.stdout.truncated ||= f.tr?.[0] === true;
    p.stderr.truncated ||= f.tr?.[1] === true;
    const code = typeof f.c === "number" ? f.c : null;
    if (p.raw) return p.raw({ code: f.st ? null : code, stdout: p.stdout.raw(), stderr: p.stderr.text() });
    const r: ExecResult = {
      exit_code: code,
      signal: null,
      stdout: p.stdout.text(),
      stderr: p.stderr.text(),
      truncated: p.stdout.truncated || p.stderr.truncated,
      duration_ms: Date.now() - p.started,
      timed_out: f.st === "timeout",
    };
    if (f.st) markStopped(r, f.k === true);
    p.resolve(r);
  }

  /** The agent never reported a command it was told to stop: say so rather than wait for ever. */
  private giveUp(id: number, why: "timeout" | "abort"): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.log.warn("the SSH agent did not report a stopped command", { host: this.where, id });
    this.finish(p, { t: "x", c: null, st: why, k: false });
  }

  private onClose(): void {
    this.alive = false;
    this.greeted(false);
    this.release();
    const why = this.agentStderr.trim().split("\n").pop() || this.closeReason || "the channel closed";
    for (const p of [...this.pending.values()]) {
      p.done();
      p.reject(new Error(`ssh ${this.where}: the agent running the command went away (${why}); the command's outcome is unknown and it was not retried`));
    }
  }
}
