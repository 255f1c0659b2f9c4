import type { Progress } from "../../backends/backend.js";

/** Output is held this long after the start, so short commands send no progress at all. */
const PROGRESS_AFTER_MS = 1000;
/** Least time between two notifications. */
const FLUSH_EVERY_MS = 250;
/** A notification when nothing was printed for this long. */
const HEARTBEAT_MS = 5000;
/** Most text one notification carries (the newest lines are kept). */
const MAX_MESSAGE = 4096;

// Why: streams a running command's output as progress: whole lines as they come, once it has run for a second.
export class ProgressLines {
  private pending = "";
  private lastSent = 0;
  private lastValue = 0;
  private bytes = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly started = Date.now();

  constructor(private readonly report: (p: Progress) => void) {
    this.timer = setInterval(() => this.tick(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  /** Output text as it arrives (either stream). */
  push(text: string): void {
    this.bytes += Buffer.byteLength(text);
    this.pending += text;
    if (this.pending.length > 4 * MAX_MESSAGE) this.pending = this.pending.slice(-2 * MAX_MESSAGE);
    this.tick();
  }

  /** The command ended: send what is left (only if it ran long enough to stream) and stop the timer. */
  finish(): void {
    clearInterval(this.timer);
    if (Date.now() - this.started >= PROGRESS_AFTER_MS && this.pending !== "") this.send(this.pending);
    this.pending = "";
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.started < PROGRESS_AFTER_MS || now - this.lastSent < FLUSH_EVERY_MS) return;
    const nl = this.pending.lastIndexOf("\n");
    if (nl >= 0) {
      const lines = this.pending.slice(0, nl + 1);
      this.pending = this.pending.slice(nl + 1);
      this.send(lines);
    } else if (this.pending !== "" && now - this.lastSent >= PROGRESS_AFTER_MS) {
      const part = this.pending;
      this.pending = "";
      this.send(part);
    } else if (now - (this.lastSent || this.started) >= HEARTBEAT_MS) {
      this.emit(`running, ${this.bytes} bytes of output`);
    }
  }

  private send(text: string): void {
    const trimmed = text.endsWith("\n") ? text.slice(0, -1) : text;
    this.emit(trimmed.length > MAX_MESSAGE ? trimmed.slice(-MAX_MESSAGE) : trimmed);
  }

  private emit(message: string): void {
    const now = Date.now();
    this.lastSent = now;
    this.lastValue = Math.max(this.lastValue + 1, now - this.started);
    this.report({ progress: this.lastValue, message });
  }
}
