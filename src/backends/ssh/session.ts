import { randomBytes } from "node:crypto";
import type { ClientChannel } from "ssh2";
import type { ExecOptions, ExecRequest, ExecResult } from "../host-io.js";
import type { Logger } from "../../log.js";
import type { SshConnection } from "./conn.js";
import { Capture, killGroup, markStopped } from "./exec.js";
import { execScript, PGID_MARK, REMOTE_COMMAND, type HostShell } from "./script.js";

const HELLO_MS = 10_000;
/** How long past its timeout a command may go unreported before the session is given up. */
const REPORT_GRACE_MS = 10_000;

/** One command on the session: its captures and how it ends. */
interface Running {
  stdout: Capture;
  stderr: { push(buf: Buffer): void };
  outDone: boolean;
  errDone: boolean;
  code: number | null;
  finish: () => void;
}

// Why: the fast path on hosts without python3: one persistent POSIX `sh -s` on one channel runs one command at a
// time, each framed by an end marker on both streams (~1 ms instead of a new exec channel's 50-500 ms).
export class ShellSession {
  /** False once the channel closed or misbehaved: no command is written to it any more. */
  alive = true;
  busy = false;
  private readonly token = randomBytes(8).toString("hex");
  private seq = 0;
  private current: Running | undefined;
  private outBuf = Buffer.alloc(0);
  private errBuf = Buffer.alloc(0);
  private readonly closed: Promise<"gone">;

  private constructor(
    private readonly conn: SshConnection,
    private readonly channel: ClientChannel,
    private readonly release: () => void,
    private readonly shell: HostShell,
    private readonly log: Logger,
  ) {
    channel.on("data", (d: Buffer) => this.onStream(1, d));
    channel.stderr.on("data", (d: Buffer) => this.onStream(2, d));
    channel.on("error", (err: Error) => log.debug("shell session channel error", { host: conn.where, error: err.message }));
    this.closed = new Promise((resolve) => channel.once("close", () => resolve("gone")));
    channel.once("close", () => this.onClose());
  }

  /** Opens the session and waits for its first framed answer; undefined when the host's sh does not answer. */
  static async open(conn: SshConnection, shell: HostShell, log: Logger): Promise<ShellSession | undefined> {
    const { channel, release } = await conn.exec(REMOTE_COMMAND);
    const s = new ShellSession(conn, channel, release, shell, log);
    const r = await Promise.race([
      s.run({ command: "true", maxOutputBytes: 1024 }).catch(() => undefined),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), HELLO_MS).unref()),
    ]);
    if (r?.exit_code === 0) return s;
    s.close();
    return undefined;
  }

  /** Runs one command (the caller checks `busy` first); rejects when the session died under it (outcome unknown). */
  async run(req: ExecRequest, opts: ExecOptions = {}): Promise<ExecResult> {
    return (await this.runCapturing(req, opts)).result;
  }

  /** A whole POSIX sh script (on the stdin of `sh -s`): its raw stdout, stderr and exit code. */
  async runScript(script: string, cap: number, timeoutMs: number): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
    const { result, stdout } = await this.runCapturing({ argv: ["sh", "-s"], stdin: Buffer.from(script, "utf8"), maxOutputBytes: cap, timeoutMs }, {});
    return { code: result.timed_out ? null : result.exit_code, stdout, stderr: result.stderr };
  }

  private async runCapturing(req: ExecRequest, opts: ExecOptions): Promise<{ result: ExecResult; stdout: Buffer }> {
    if (!this.alive || this.busy) throw new Error("the shell session is not free");
    this.busy = true;
    const id = `${this.token}-${++this.seq}`;
    const script = execScript(req, this.shell);
    const emit = opts.onOutput;
    const started = Date.now();
    let pgid: number | undefined;
    let head: Buffer | null = Buffer.alloc(0);
    const stderr = new Capture(req.maxOutputBytes, emit && ((text) => emit({ stream: "stderr", text })));
    const running: Running = {
      stdout: new Capture(req.maxOutputBytes, emit && ((text) => emit({ stream: "stdout", text }))),
      stderr: {
        push: (buf: Buffer) => {
          if (head === null) return stderr.push(buf);
          head = Buffer.concat([head, buf]);
          const nl = head.indexOf(10);
          if (nl < 0 && head.length < 64) return;
          const line = head.subarray(0, nl < 0 ? head.length : nl).toString("latin1");
          if (line.startsWith(PGID_MARK)) pgid = Number(line.slice(PGID_MARK.length)) || undefined;
          const rest = line.startsWith(PGID_MARK) ? head.subarray(nl + 1) : head;
          head = null;
          if (rest.length) stderr.push(rest);
        },
      },
      outDone: false,
      errDone: false,
      code: null,
      finish: () => {},
    };
    const ended = new Promise<void>((resolve) => (running.finish = resolve));
    this.current = running;
    this.channel.write(`(\n${script})</dev/null\nprintf '\\036herd-end-${id} %s\\n' "$?"; printf '\\036herd-end-${id}\\n' >&2\n`);
    let stop: "timeout" | "abort" | undefined;
    let killed: boolean | undefined;
    let stopping: Promise<void> | undefined;
    const stopNow = (why: "timeout" | "abort") => {
      if (stop) return;
      stop = why;
      stopping = (async () => {
        if (pgid !== undefined) killed = await killGroup(this.conn, pgid, this.log);
      })();
    };
    const timer = req.timeoutMs !== undefined ? setTimeout(() => stopNow("timeout"), req.timeoutMs) : undefined;
    const onAbort = () => stopNow("abort");
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    const late = req.timeoutMs !== undefined ? new Promise<"late">((r) => setTimeout(() => r("late"), req.timeoutMs! + REPORT_GRACE_MS).unref()) : undefined;
    try {
      const how = await Promise.race([ended.then(() => "ended" as const), this.closed, ...(late ? [late] : [])]);
      if (how !== "ended") {
        this.close();
        throw new Error(`ssh ${this.conn.where}: the shell session running the command went away; its outcome is unknown and it was not retried`);
      }
      await stopping;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      this.current = undefined;
      this.busy = false;
    }
    if (head !== null && (head as Buffer).length) stderr.push(head);
    const code = running.code;
    const r: ExecResult = {
      exit_code: code,
      signal: null,
      stdout: running.stdout.text(),
      stderr: stderr.text(),
      truncated: running.stdout.truncated || stderr.truncated,
      duration_ms: Date.now() - started,
      timed_out: stop === "timeout",
    };
    if (stop) markStopped(r, killed);
    return { result: r, stdout: running.stdout.raw() };
  }

  close(): void {
    if (!this.alive) return;
    this.alive = false;
    this.channel.end();
    setTimeout(() => this.channel.close(), 2000).unref();
  }

  /** Splits one stream at the current command's end marker (output after a marker belongs to nobody). */
  private onStream(s: 1 | 2, d: Buffer): void {
    const cur = this.current;
    if (!cur) return;
    const mark = Buffer.from(`\x1eherd-end-${this.token}-${this.seq}`, "latin1");
    let buf = Buffer.concat([s === 1 ? this.outBuf : this.errBuf, d]);
    const at = buf.indexOf(mark);
    let keep = Buffer.alloc(0);
    if (at >= 0) {
      const nl = buf.indexOf(10, at);
      if (nl < 0) keep = buf.subarray(at);
      else {
        if (s === 1) cur.code = Number(buf.subarray(at + mark.length, nl).toString("latin1").trim());
        if (s === 1) cur.outDone = true;
        else cur.errDone = true;
      }
      buf = buf.subarray(0, at);
    } else {
      // Hold back a tail that is the start of the marker (and only that: the pgid line starts with \x1e too).
      for (let i = Math.max(0, buf.length - mark.length + 1); i < buf.length; i++) {
        if (buf[i] === 0x1e && mark.subarray(0, buf.length - i).equals(buf.subarray(i))) {
          keep = buf.subarray(i);
          buf = buf.subarray(0, i);
          break;
        }
      }
    }
    if (buf.length) (s === 1 ? cur.stdout : cur.stderr).push(buf);
    if (s === 1) this.outBuf = keep;
    else this.errBuf = keep;
    if (cur.outDone && cur.errDone) {
      this.outBuf = Buffer.alloc(0);
      this.errBuf = Buffer.alloc(0);
      cur.finish();
    }
  }

  private onClose(): void {
    this.alive = false;
    this.release();
  }
}
