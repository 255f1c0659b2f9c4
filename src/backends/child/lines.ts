/** Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line. */
export class LineSplitter {
  private chunks: Buffer[] = [];
  private pending = 0;
  private dropped = 0;

  constructor(
    private readonly onLine: (line: Buffer) => void,
    private readonly onOversize: (bytes: number) => void,
    private readonly maxLineBytes = 10 * 1024 * 1024,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        this.keep(chunk.subarray(start));
        return;
      }
      this.keep(chunk.subarray(start, nl));
      this.finishLine();
      start = nl + 1;
    }
  }

  /** Emits what is left when the stream ends. */
  end(): void {
    if (this.pending > 0 || this.dropped > 0) this.finishLine();
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    if (this.dropped > 0) {
      this.dropped += part.length;
      return;
    }
    if (this.pending + part.length > this.maxLineBytes) {
      this.dropped = this.pending + part.length;
      this.chunks = [];
      this.pending = 0;
      return;
    }
    this.chunks.push(part);
    this.pending += part.length;
  }

  private finishLine(): void {
    if (this.dropped > 0) {
      const bytes = this.dropped;
      this.dropped = 0;
      this.onOversize(bytes);
      return;
    }
    const line = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.pending);
    this.chunks = [];
    this.pending = 0;
    this.onLine(line);
  }
}
