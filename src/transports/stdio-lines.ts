import { Transform, type TransformCallback } from "node:stream";

/** The longest message (one line, newline excluded) stdio accepts: the SDK's own default, 10 MiB. */
export const STDIO_MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

const HEAD_BYTES = 64 * 1024;
const TAIL_BYTES = 1024;

/** A line that was too long and was dropped: its size, and the request id when one could be read. */
export interface OversizeLine {
  bytes: number;
  /** The id of the request it was, when its start or end shows one (the SDK writes the id last). */
  id?: string | number;
}

/**
 * Hands stdin on to the SDK's stdio transport in whole lines only; a line over `max` bytes is dropped
 * without being buffered and reported, so the SDK never sees it (on overflow the SDK's transport closes
 * itself and the server goes deaf).
 */
export class LineGuard extends Transform {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer = Buffer.alloc(0);

  constructor(
    private readonly max: number,
    private readonly onOversize: (line: OversizeLine) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const whole: Buffer[] = [];
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      this.addPiece(chunk.subarray(start, nl === -1 ? chunk.length : nl + 1));
      if (nl === -1) break;
      const line = this.endLine();
      if (line) whole.push(line);
      start = nl + 1;
    }
    if (whole.length) this.push(whole.length === 1 ? whole[0] : Buffer.concat(whole));
    done();
  }

  override _flush(done: TransformCallback): void {
    this.parts = [];
    done();
  }

  private addPiece(piece: Buffer): void {
    if (this.skipping) {
      this.size += piece.length;
      this.tail = lastBytes(Buffer.concat([this.tail, piece]), TAIL_BYTES);
      return;
    }
    this.parts.push(piece);
    this.size += piece.length;
    if (this.size - (piece[piece.length - 1] === 0x0a ? 1 : 0) <= this.max) return;
    const all = Buffer.concat(this.parts);
    this.head = Buffer.from(all.subarray(0, HEAD_BYTES));
    this.tail = Buffer.from(lastBytes(all, TAIL_BYTES));
    this.parts = [];
    this.skipping = true;
  }

  private endLine(): Buffer | undefined {
    const parts = this.parts;
    const wasSkipping = this.skipping;
    const bytes = this.size;
    this.parts = [];
    this.size = 0;
    this.skipping = false;
    if (!wasSkipping) return parts.length === 1 ? parts[0] : Buffer.concat(parts);
    const id = requestId(this.head.toString("utf8"), this.tail.toString("utf8"));
    this.head = this.tail = Buffer.alloc(0);
    this.onOversize({ bytes: bytes - 1, ...(id !== undefined ? { id } : {}) });
    return undefined;
  }
}

function lastBytes(buf: Buffer, n: number): Buffer {
  return buf.length <= n ? buf : buf.subarray(buf.length - n);
}

const ID = String.raw`(-?\d{1,16}|"(?:[^"\\]|\\.){0,256}")`;
const ID_FIRST = new RegExp(String.raw`^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*${ID}\s*,`);
const ID_LAST = new RegExp(String.raw`,\s*"id"\s*:\s*${ID}\s*\}\s*$`);

/** The id of a request (it has a method) whose top-level id is its first or last member; else undefined. */
export function requestId(head: string, tail: string): string | number | undefined {
  if (!/"method"\s*:\s*"/.test(head)) return undefined;
  const m = ID_FIRST.exec(head) ?? ID_LAST.exec(tail);
  if (!m) return undefined;
  try {
    return JSON.parse(m[1]!) as string | number;
  } catch {
    return undefined;
  }
}
