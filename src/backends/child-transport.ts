import type { ChildProcess } from "node:child_process";
import spawn from "cross-spawn";
import { deserializeMessage, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { LineSplitter } from "./child-lines.js";
import { stopGroup } from "./child-kill.js";
import { unwatchGroup, watchGroup } from "./child-reaper.js";

/** How a child process ended. */
export interface ExitInfo {
  code: number | null;
  signal: string | null;
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
}

const DRAIN_MS = 150;

/**
 * A stdio client transport that owns the child's whole process group: process exit is close
 * (even when a grandchild keeps stdout open), close kills the group, and non-JSON output is logged.
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
  private readonly queue: JSONRPCMessage[] = [];
  private draining = false;

  constructor(private readonly opts: ChildTransportOptions) {}

  get pid(): number | undefined {
    return this.proc?.pid;
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
      const proc = spawn(o.command, o.args, {
        cwd: o.cwd,
        env: o.env,
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
        shell: false,
        windowsHide: true,
      });
      this.proc = proc;
      if (proc.pid !== undefined) watchGroup(proc.pid);
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
      proc.stdout?.on("data", (c: Buffer) => out.push(c));
      proc.stdout?.on("end", () => ((ended.out = true), out.end()));
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
            o.onExit?.(this.exit!);
            this.finish();
          } else setTimeout(wait, 10);
        };
        wait();
      });
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.proc?.stdin;
    if (!stdin || this.closed || this.exit) throw new Error("Not connected: the child process has exited");
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
      const { gone, signal } = await stopGroup(pid, this.opts.killGraceMs ?? 3000);
      this.killSignal = signal;
      if (gone) unwatchGroup(pid);
      return gone;
    })();
    return this.killing;
  }

  private onStdoutLine(buf: Buffer): void {
    if (buf.length === 0) return;
    const first = buf[0] === 0x7b || (buf.length < 4096 && buf.toString("utf8").trimStart().startsWith("{"));
    const text = buf.toString("utf8").replace(/\r$/, "");
    if (first) {
      let msg: JSONRPCMessage | undefined;
      try {
        msg = deserializeMessage(text);
      } catch {
        msg = undefined;
      }
      if (msg) {
        this.deliver(msg);
        return;
      }
    }
    this.opts.onLog("stdout", text.length > 8192 ? `${text.slice(0, 8192)}… [${buf.length} bytes]` : text);
  }

  // The SDK runs notification handlers a microtask later but responses at once: a response read in the same
  // chunk as the last progress notification would otherwise drop it. After a notification, wait one turn.
  private deliver(msg: JSONRPCMessage): void {
    if (this.queue.length > 0 || this.draining) {
      this.queue.push(msg);
      return;
    }
    this.onmessage?.(msg);
    if (!("id" in msg)) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.draining = false;
    while (this.queue.length > 0 && !this.draining) {
      const msg = this.queue.shift()!;
      this.onmessage?.(msg);
      if (!("id" in msg) && this.queue.length > 0) {
        this.draining = true;
        setImmediate(() => this.drain());
      }
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    for (const msg of this.queue.splice(0)) this.onmessage?.(msg);
    const pid = this.proc?.pid;
    // A grandchild may outlive the child: the group goes when the child does.
    if (pid !== undefined) void this.kill();
    this.onclose?.();
  }
}
