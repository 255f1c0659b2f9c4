/** One captured line of a service's stderr or non-protocol stdout (or our own note about it). */
export interface LogLine {
  time: string;
  stream: "stderr" | "stdout" | "herd" | "mcp";
  text: string;
}

const MAX_LINE_CHARS = 4096;
const MIN_SECRET_LENGTH = 4;

/**
 * Bounded rings of timestamped lines, redacting the service's env values. The service's own MCP log
 * messages ("mcp") have a ring of their own, so a child flooding them never pushes its stderr or
 * mcp-herd's notes (starts, exits, restarts, flood counts) out of the logs.
 */
export class LogRing {
  private readonly lines: Entry[] = [];
  private readonly mcp: Entry[] = [];
  private seq = 0;
  private secrets: string[] = [];

  constructor(private readonly capacity = 1000) {}

  /** Values that must never appear in logs (the service's `env` values). */
  setSecrets(values: Iterable<string>): void {
    this.secrets = [...new Set(values)].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  }

  push(stream: LogLine["stream"], text: string): void {
    let t = text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}… [line truncated, ${text.length} chars]` : text;
    for (const s of this.secrets) if (t.includes(s)) t = t.split(s).join("***");
    const ring = stream === "mcp" ? this.mcp : this.lines;
    ring.push({ seq: this.seq++, line: { time: new Date().toISOString(), stream, text: t } });
    if (ring.length > this.capacity) ring.splice(0, ring.length - this.capacity);
  }

  /** The last `n` lines of both rings in time order, optionally only those at or after `since` (ISO time or epoch ms) and of one stream. */
  tail(n: number, since?: string | number, stream?: LogLine["stream"]): LogLine[] {
    if (n <= 0) return [];
    let own = stream === "mcp" ? [] : this.lines.filter((e) => stream === undefined || e.line.stream === stream).slice(-n);
    let mcp = stream === undefined || stream === "mcp" ? this.mcp.slice(-n) : [];
    if (since !== undefined) {
      const t = typeof since === "number" ? since : Date.parse(since);
      if (Number.isFinite(t)) {
        own = own.filter((e) => Date.parse(e.line.time) >= t);
        mcp = mcp.filter((e) => Date.parse(e.line.time) >= t);
      }
    }
    return mergeInOrder(own, mcp).slice(-n);
  }

  /** The last `n` stderr lines as plain text (only those at or after `sinceMs`), for crash messages. */
  stderrTail(n = 20, sinceMs = 0): string[] {
    const out: string[] = [];
    for (let i = this.lines.length - 1; i >= 0 && out.length < n; i--) {
      const l = this.lines[i]!.line;
      if (sinceMs && Date.parse(l.time) < sinceMs) break;
      if (l.stream === "stderr") out.push(l.text);
    }
    return out.reverse();
  }

  get size(): number {
    return this.lines.length + this.mcp.length;
  }
}

interface Entry {
  /** Arrival order across both rings (times tie within a millisecond). */
  seq: number;
  line: LogLine;
}

// Both rings are in arrival order: merge them back into one.
function mergeInOrder(a: Entry[], b: Entry[]): LogLine[] {
  const out: LogLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.seq < b[j]!.seq)) out.push(a[i++]!.line);
    else out.push(b[j++]!.line);
  }
  return out;
}
