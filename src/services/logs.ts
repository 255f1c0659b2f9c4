/** One captured line of a service's stderr or non-protocol stdout (or our own note about it). */
export interface LogLine {
  time: string;
  stream: "stderr" | "stdout" | "herd" | "mcp";
  text: string;
}

const MAX_LINE_CHARS = 4096;
const MIN_SECRET_LENGTH = 4;

/** A bounded ring of timestamped lines, redacting the service's env values. */
export class LogRing {
  private readonly lines: LogLine[] = [];
  private secrets: string[] = [];

  constructor(private readonly capacity = 1000) {}

  /** Values that must never appear in logs (the service's `env` values). */
  setSecrets(values: Iterable<string>): void {
    this.secrets = [...new Set(values)].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  }

  push(stream: LogLine["stream"], text: string): void {
    let t = text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}… [line truncated, ${text.length} chars]` : text;
    for (const s of this.secrets) if (t.includes(s)) t = t.split(s).join("***");
    this.lines.push({ time: new Date().toISOString(), stream, text: t });
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  /** The last `n` lines, optionally only those at or after `since` (ISO time or epoch ms). */
  tail(n: number, since?: string | number): LogLine[] {
    let out = this.lines;
    if (since !== undefined) {
      const t = typeof since === "number" ? since : Date.parse(since);
      if (Number.isFinite(t)) out = out.filter((l) => Date.parse(l.time) >= t);
    }
    return n <= 0 ? [] : out.slice(-n);
  }

  /** The last `n` stderr lines as plain text (only those at or after `sinceMs`), for crash messages. */
  stderrTail(n = 20, sinceMs = 0): string[] {
    const out: string[] = [];
    for (let i = this.lines.length - 1; i >= 0 && out.length < n; i--) {
      const l = this.lines[i]!;
      if (sinceMs && Date.parse(l.time) < sinceMs) break;
      if (l.stream === "stderr") out.push(l.text);
    }
    return out.reverse();
  }

  get size(): number {
    return this.lines.length;
  }
}
