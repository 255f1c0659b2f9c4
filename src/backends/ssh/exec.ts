import { constants } from "node:os";
import { StringDecoder } from "node:string_decoder";
import type { ClientChannel } from "ssh2";
import type { BgRequest, BgResult, ExecOptions, ExecRequest, ExecResult } from "../host-io.js";
import type { Logger } from "../../log.js";
import type { SshConnection } from "./conn.js";
import { bgScript, execScript, killScript, PGID_MARK, REMOTE_COMMAND, type HostShell } from "./script.js";

const MARK = Buffer.from(PGID_MARK, "latin1");
/** How long to wait for the pgid line or for the channel to close once the group is gone. */
const SETTLE_MS = 3000;
/** Once the command's exit status arrived, how long its output may still come (a daemon it left holds stdout). */
const EXIT_GRACE_MS = 500;

// Why: one command on a host over a fresh exec channel of the pooled connection, with a timeout that really kills.
export async function sshExec(conn: SshConnection, req: ExecRequest, opts: ExecOptions, log: Logger, shell: HostShell = "bash"): Promise<ExecResult> {
  const script = execScript(req, shell);
  const started = Date.now();
  const { channel, release } = await conn.exec(REMOTE_COMMAND);
  try {
    return await runChannel(conn, channel, script, req, opts, started, log);
  } finally {
    release();
  }
}

// Why: `setsid nohup` job whose stdio goes to a log and whose exit code lands in `<log>.rc`; it outlives the connection.
export async function sshExecBg(where: string, run: ScriptRunner, req: BgRequest, shell: HostShell = "bash"): Promise<BgResult> {
  const out = await run(bgScript(req, shell), 64 * 1024, 30_000);
  const stdout = out.stdout.toString("utf8");
  const m = /^(\d+)\n([\s\S]+)$/.exec(stdout);
  if (out.code !== 0 || !m) {
    throw new Error(`shell_bg on ${where} failed (rc=${out.code ?? "none"}): ${out.stderr.trim() || stdout.trim() || "no output"}`);
  }
  const pid = Number(m[1]);
  return { pid, pgid: pid, log: m[2]!, rc_file: `${m[2]!}.rc` };
}

/** Runs a whole `sh -s` script on the host (through the agent when it is up, else a fresh exec channel). */
export type ScriptRunner = (script: string, cap: number, timeoutMs: number) => Promise<{ code: number | null; stdout: Buffer; stderr: string }>;

// Why: bounded capture of one stream: bytes beyond the cap are dropped, never buffered.
export class Capture {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  truncated = false;
  private readonly decoder = new StringDecoder("utf8");

  constructor(
    private readonly cap: number,
    private readonly onText?: (text: string) => void,
  ) {}

  push(buf: Buffer): void {
    const room = this.cap - this.bytes;
    if (room <= 0) {
      if (buf.length) this.truncated = true;
      return;
    }
    const kept = buf.length > room ? buf.subarray(0, room) : buf;
    if (kept.length < buf.length) this.truncated = true;
    this.chunks.push(kept);
    this.bytes += kept.length;
    if (this.onText) {
      const text = this.decoder.write(kept);
      if (text) this.onText(text);
    }
  }

  /** The bytes kept, as they came. */
  raw(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return (this.truncated ? utf8Prefix(all) : all).toString("utf8");
  }
}

// Why: a cut output must not end inside a UTF-8 character.
function utf8Prefix(buf: Buffer): Buffer {
  let i = buf.length - 1;
  while (i >= 0 && buf.length - i < 4 && (buf[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return buf;
  const lead = buf[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return buf.length - i < need ? buf.subarray(0, i) : buf;
}

async function runChannel(
  conn: SshConnection,
  channel: ClientChannel,
  script: string,
  req: ExecRequest,
  opts: ExecOptions,
  started: number,
  log: Logger,
): Promise<ExecResult> {
  const emit = opts.onOutput;
  const stdout = new Capture(req.maxOutputBytes, emit && ((text) => emit({ stream: "stdout", text })));
  const stderr = new Capture(req.maxOutputBytes, emit && ((text) => emit({ stream: "stderr", text })));
  let head: Buffer | null = Buffer.alloc(0);
  let pgid: number | undefined;
  let pgidSeen: () => void = () => {};
  const pgidKnown = new Promise<void>((r) => (pgidSeen = r));

  const onStderr = (buf: Buffer) => {
    if (head === null) return stderr.push(buf);
    head = Buffer.concat([head, buf]);
    if (head.length < MARK.length && MARK.subarray(0, head.length).equals(head)) return;
    if (head.subarray(0, MARK.length).equals(MARK)) {
      const nl = head.indexOf(10);
      if (nl < 0 && head.length < 64) return;
      const id = Number(head.subarray(MARK.length, nl < 0 ? head.length : nl).toString("latin1"));
      if (Number.isInteger(id) && id > 1) pgid = id;
      pgidSeen();
      const rest = nl < 0 ? Buffer.alloc(0) : head.subarray(nl + 1);
      head = null;
      if (rest.length) stderr.push(rest);
      return;
    }
    const all = head;
    head = null;
    stderr.push(all);
  };

  let exitCode: number | null = null;
  let exitSignal: string | null = null;
  let gotExit = false;
  let exitSeen: () => void = () => {};
  const exited = new Promise<void>((r) => (exitSeen = r));
  channel.on("data", (d: Buffer) => stdout.push(d));
  channel.on("error", (err: Error) => log.debug("exec channel error", { host: conn.where, error: err.message }));
  channel.stderr.on("data", onStderr);
  channel.on("exit", (code: number | null, signal?: string) => {
    gotExit = true;
    exitCode = typeof code === "number" ? code : null;
    if (signal) exitSignal = signal.startsWith("SIG") ? signal : `SIG${signal}`;
    exitSeen();
  });
  const closed = new Promise<void>((resolve) => channel.once("close", () => resolve()));

  channel.end(script);

  let stopReason: "timeout" | "abort" | undefined;
  let stopRequested: () => void = () => {};
  const stop = new Promise<void>((r) => (stopRequested = r));
  const timer = req.timeoutMs !== undefined ? setTimeout(() => ((stopReason ??= "timeout"), stopRequested()), req.timeoutMs) : undefined;
  const onAbort = () => ((stopReason ??= "abort"), stopRequested());
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  let killed: boolean | undefined;
  try {
    // The exit status ends the wait (after a short grace for the last output), not EOF: a daemon the command
    // started may hold stdout open for ever, and the command itself is done.
    await Promise.race([closed, stop, exited.then(() => Promise.race([closed, delay(EXIT_GRACE_MS)]))]);
    if (stopReason && gotExit) {
      // It ended on its own as the timer fired: a normal result, nothing to kill.
      stopReason = undefined;
      await Promise.race([closed, delay(SETTLE_MS)]);
    }
    if (stopReason) {
      await Promise.race([pgidKnown, closed, delay(SETTLE_MS)]);
      killed = pgid !== undefined ? await killGroup(conn, pgid, log) : false;
      if (!gotExit) await Promise.race([closed, delay(SETTLE_MS)]);
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
    if (head !== null) stderr.push(head);
  }
  const stillOpen = await Promise.race([closed.then(() => false), delay(killed === undefined ? 0 : 200).then(() => true)]);
  if (stillOpen) channel.close();
  if (!gotExit && stopReason === undefined) {
    throw new Error(`ssh ${conn.where}: the connection was lost while the command ran; its outcome is unknown`);
  }

  const result: ExecResult = {
    exit_code: exitCode,
    signal: exitSignal,
    stdout: stdout.text(),
    stderr: stderr.text(),
    truncated: stdout.truncated || stderr.truncated,
    duration_ms: Date.now() - started,
    timed_out: stopReason === "timeout",
  };
  if (stopReason) markStopped(result, killed);
  return result;
}

/** TERM the group, KILL after a grace period, confirm it is gone: through a second exec channel. */
export async function killGroup(conn: SshConnection, pgid: number, log: Logger): Promise<boolean> {
  try {
    const { channel, release } = await conn.exec(REMOTE_COMMAND, true);
    try {
      const out = await collect(channel, killScript(pgid), 4096, 10_000);
      return out.stdout.trim() === "gone";
    } finally {
      release();
    }
  } catch (err) {
    log.warn("could not stop a process group", { host: conn.where, pgid, error: (err as Error).message });
    return false;
  }
}

/** Run a small script to the end: its stdout, stderr and exit code (bounded in size and time). */
function collect(channel: ClientChannel, script: string, cap: number, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const out = new Capture(cap);
    const err = new Capture(cap);
    let code: number | null = null;
    channel.on("data", (d: Buffer) => out.push(d));
    channel.on("error", () => channel.close());
    channel.stderr.on("data", (d: Buffer) => err.push(d));
    channel.on("exit", (c: number | null) => (code = typeof c === "number" ? c : null));
    const timer = setTimeout(() => channel.close(), timeoutMs);
    channel.once("close", () => {
      clearTimeout(timer);
      resolve({ code, stdout: out.text(), stderr: err.text() });
    });
    channel.end(script);
  });
}

// Why: a command we stopped: its 128+N code as the signal, and whether its group was confirmed gone.
export function markStopped(r: ExecResult, killed: boolean | undefined): void {
  if (r.exit_code !== null && r.exit_code > 128) {
    r.signal = signalName(r.exit_code - 128);
    r.exit_code = null;
  }
  r.killed = killed === true;
  if (!r.killed) r.stop_unconfirmed = true;
}

// Why: a shell's 128+N exit code of a stopped command, as a signal name.
export function signalName(n: number): string | null {
  for (const [name, num] of Object.entries(constants.signals)) if (num === n) return name;
  return null;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
