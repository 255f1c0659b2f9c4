import type { ChildProcess } from "node:child_process";
import { parseJSONRPCMessage, serializeMessage, type JSONRPCMessage, type Transport } from "@modelcontextprotocol/client";
import { InboundFlow, type FlowLimits } from "./flow.js";
import { LineSplitter } from "./lines.js";
import { stopGroup } from "./kill.js";
import { unwatchGroup } from "./reaper.js";
import { spawnChild, takeEarly } from "./spawn.js";
import { newTreeMark } from "./tree.js";

/** How a child process ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
  /** Set when it did not exit but was declared dead (it closed its stdout while still running). */
  reason?: string;
}

export interface ChildTransportOptions {
  command: string;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
  /** stderr lines and stdout lines that are not JSON-RPC. */
  onLog(stream: "stderr" | "stdout", line: string): void;
  onExit?(info: ExitInfo): void;
  maxLineBytes?: number;
  killGraceMs?: number;
  flow?: FlowLimits;
}

const DRAIN_MS = 150;
// Stdout usually ends a moment before the exit is seen; a child still running after this closed it on purpose.
const EOF_GRACE_MS = 250;
/** The exit reason of a child that closed its stdout but kept running (we kill it: nothing can reach it any more). */
export const STDOUT_CLOSED = "closed its stdout while still running";

/**
 * A stdio client transport that owns the child's whole process tree: process exit is close (even
 * when a grandchild keeps stdout open), so is the end of stdout; close kills the tree (its group and
 * what left it, see child-tree); notifications are coalesced and bounded (child-flow) so responses
 * never wait behind them; non-JSON output is logged.
 */
export class ChildTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;

  private proc?: ChildProcess;
  private closed = false;
  private exit?: ExitInfo;
  private killing?: Promise<boolean>;
  private killSignal?: "SIGTERM" | "SIGKILL";
  private exitReported = false;
  private outputAt = 0;
  private eofTimer?: NodeJS.Timeout;
  private mark = newTreeMark();
  private readonly flow: InboundFlow;

  constructor(private readonly opts: ChildTransportOptions) {
    this.flow = new InboundFlow(
      (raw) => this.handOn(raw),
      (text) => opts.onLog("stdout", text),
      opts.flow,
    );
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** When the child last wrote to stdout (epoch ms; 0 before it did). */
  get lastOutputAt(): number {
    return this.outputAt;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  /** The last signal kill() had to send to end the tree (SIGKILL: it ignored SIGTERM for the grace period). */
  get killedWith(): "SIGTERM" | "SIGKILL" | undefined {
    return this.killSignal;
  }

  start(): Promise<void> {
    if (this.proc) throw new Error("ChildTransport already started");
    const o = this.opts;
    return new Promise<void>((resolve, reject) => {
      // A configured child may already run, started before our modules loaded (start-early.ts).
      const early = takeEarly(o);
      if (early) this.mark = early.mark;
      const proc = early?.proc ?? spawnChild(o, this.mark);
      this.proc = proc;
      const max = o.maxLineBytes ?? 10 * 1024 * 1024;
      const out = new LineSplitter(
        (line) => this.onStdoutLine(line),
        (bytes) => o.onLog("stdout", `[mcp-herd: dropped a stdout line of ${bytes} bytes without newline (limit ${max})]`),
        max,
      );
      const err = new LineSplitter(
        (line) => line.length && o.onLog("stderr", line.toString("utf8").replace(/\r$/, "")),
        (bytes) => o.onLog("stderr", `[mcp-herd: dropped a stderr line of ${bytes} bytes (limit 1 MiB)]`),
        1024 * 1024,
      );
      const ended = { out: false, err: false };
      proc.stdout?.on("data", (c: Buffer) => {
        this.outputAt = Date.now();
        out.push(c);
      });
      proc.stdout?.on("end", () => {
        ended.out = true;
        out.end();
        this.onStdoutEnd();
      });
      proc.stderr?.on("data", (c: Buffer) => err.push(c));
      proc.stderr?.on("end", () => ((ended.err = true), err.end()));
      proc.stdin?.on("error", (e) => this.onerror?.(e));
      proc.stdout?.on("error", (e) => this.onerror?.(e));
      proc.on("spawn", () => resolve());
      proc.on("error", (e) => {
        if (!this.exit) this.exit = { code: null, signal: null };
        reject(e);
        this.finish();
      });
      proc.on("exit", (code, signal) => {
        this.exit = { code, signal };
        const until = Date.now() + DRAIN_MS;
        const wait = () => {
          if ((ended.out && ended.err) || Date.now() >= until) {
            this.reportExit(this.exit!);
            this.finish();
          } else setTimeout(wait, 10);
        };
        wait();
      });
      early?.replay();
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.proc?.stdin;
    if (!stdin || this.closed || this.exit) throw new Error("Not connected: the child process has exited");
    this.flow.sent(message);
    const data = serializeMessage(message);
    await new Promise<void>((resolve, reject) => {
      stdin.write(data, (e) => (e ? reject(e) : resolve()));
    });
  }

  /** Kills the child's whole process group (SIGTERM, SIGKILL after the grace period) and closes. */
  async close(): Promise<void> {
    await this.kill();
    this.finish();
  }

  /** Stops the process tree; resolves true when nothing of it remains. */
  kill(): Promise<boolean> {
    const pid = this.proc?.pid;
    if (pid === undefined) return Promise.resolve(true);
    this.killing ??= (async () => {
      try {
        this.proc?.stdin?.end();
      } catch {
        /* already closed */
      }
      const { gone, signal } = await stopGroup(pid, this.opts.killGraceMs ?? 3000, 2000, this.mark);
      this.killSignal = signal;
      if (gone) unwatchGroup(pid);
      return gone;
    })();
    return this.killing;
  }

  private onStdoutLine(buf: Buffer): void {
    if (buf.length === 0) return;
    const first = buf[0] === 0x7b || (buf.length < 4096 && buf.toString("utf8").trimStart().startsWith("{"));
    const line = buf.toString("utf8");
    const text = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (first) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        raw = undefined;
      }
      // Validated only when handed on: what a flood has coalesced or dropped costs no schema check.
      if (typeof raw === "object" && raw !== null && !Array.isArray(raw) && (raw as { jsonrpc?: unknown }).jsonrpc === "2.0") {
        this.flow.push(raw as Record<string, unknown>, buf.length);
        return;
      }
    }
    this.logStdout(text, buf.length);
  }

  private handOn(raw: Record<string, unknown>): void {
    let message: JSONRPCMessage;
    try {
      message = isPlainResult(raw) ? raw : parseJSONRPCMessage(raw);
    } catch {
      const text = JSON.stringify(raw);
      this.logStdout(text, Buffer.byteLength(text));
      return;
    }
    this.onmessage?.(message);
  }

  private logStdout(text: string, bytes: number): void {
    this.opts.onLog("stdout", text.length > 8192 ? `${text.slice(0, 8192)}… [${bytes} bytes]` : text);
  }

  // Nothing can reach a child whose stdout is closed: it is dead to us even if it runs on.
  private onStdoutEnd(): void {
    if (this.exit || this.closed) return;
    this.eofTimer = setTimeout(() => {
      if (this.exit || this.closed) return;
      this.opts.onLog("stdout", `[mcp-herd: pid ${this.proc?.pid ?? "-"} ${STDOUT_CLOSED}: treated as exited, its tree is killed]`);
      this.reportExit({ code: null, signal: null, reason: STDOUT_CLOSED });
      this.finish();
    }, EOF_GRACE_MS);
    this.eofTimer.unref?.();
  }

  private reportExit(info: ExitInfo): void {
    if (this.exitReported) return;
    this.exitReported = true;
    this.opts.onExit?.(info);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.eofTimer);
    this.flow.close();
    const pid = this.proc?.pid;
    // A grandchild may outlive the child: the group goes when the child does.
    if (pid !== undefined) void this.kill();
    this.onclose?.();
  }
}

/**
 * The reply of most calls, `{"jsonrpc":"2.0","id":…,"result":{…}}` with no `_meta` in the result, checked
 * as the SDK's JSON-RPC schema would check it (exactly these keys, an integer or string id, an object
 * result) at a fraction of its cost; anything else goes through that schema.
 */
function isPlainResult(raw: Record<string, unknown>): raw is JSONRPCMessage & Record<string, unknown> {
  let keys = 0;
  for (const k in raw) {
    if (k !== "jsonrpc" && k !== "id" && k !== "result") return false;
    keys++;
  }
  const { id, result } = raw;
  return (
    keys === 3 &&
    (typeof id === "string" || Number.isSafeInteger(id)) &&
    typeof result === "object" &&
    result !== null &&
    !Array.isArray(result) &&
    (result as { _meta?: unknown })._meta === undefined
  );
}
