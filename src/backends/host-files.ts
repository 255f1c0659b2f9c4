import { createHash } from "node:crypto";
import { posix } from "node:path";

/** 1 MiB: the default bound on a command's output per stream and on text returned by a file tool. */
export const MAX_OUTPUT_BYTES = 1024 * 1024;

/** The longest prefix of `buf` no longer than `max` bytes that does not split a UTF-8 character. */
export function cutUtf8(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = Math.max(0, max);
  // Step back over continuation bytes (10xxxxxx) to the start of the character at `end`.
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

/** The line appended where output was cut, so a reader knows text is missing. */
function truncationMarker(keptBytes: number, totalBytes?: number): string {
  const of = totalBytes === undefined ? "" : ` of ${totalBytes}`;
  return `\n[... output truncated: kept the first ${keptBytes}${of} bytes ...]\n`;
}

/** Adds the marker to a stream that was cut at `max` bytes by a backend that did not mark it. */
export function ensureMarked(text: string, max: number): string {
  if (/\n\[\.\.\. output truncated: [^\n]*\]\n$/.test(text)) return text;
  const bytes = Buffer.byteLength(text);
  return bytes >= max - 3 ? text + truncationMarker(bytes) : text;
}

/** Collects one output stream up to a byte bound; both host backends use it so cutting behaves the same. */
export class OutputCollector {
  private chunks: Buffer[] = [];
  private kept = 0;
  total = 0;
  constructor(readonly max: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.max + 4 - this.kept;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  get truncated(): boolean {
    return this.total > this.max;
  }

  /** The collected text, cut on a character boundary with a marker when over the bound. */
  text(): string {
    const all = Buffer.concat(this.chunks);
    if (!this.truncated) return all.toString("utf8");
    const cut = cutUtf8(all, this.max);
    return cut.toString("utf8") + truncationMarker(cut.length, this.total);
  }
}

/** Lowercase hex SHA-256 of some bytes. */
export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** `~`, `~/x` and relative paths resolved against the host's home folder (POSIX paths: hosts are Unix). */
export function resolveHostPath(path: string | undefined, home: string): string {
  const p = path === undefined || path === "" ? "." : path;
  if (p === "~") return home;
  if (p.startsWith("~/")) return posix.join(home, p.slice(2));
  return posix.resolve(home, p);
}

export type TextEncoding = "utf-8" | "utf-16le" | "utf-16be";

/** A file's bytes seen as text: encoding, BOM and line ending, so an edit can write it back the same way. */
export interface DecodedText {
  text: string;
  encoding: TextEncoding;
  bom: boolean;
  eol: "\n" | "\r\n";
}

/** Why a file is not shown as text. */
export class BinaryFileError extends Error {
  override readonly name = "BinaryFileError";
}

/** Decodes UTF-8 / UTF-16 (with or without BOM); throws BinaryFileError for anything else. `partial`: buf is the start of a longer file (its last line is dropped). */
export function decodeText(buf: Buffer, partial = false): DecodedText {
  let encoding: TextEncoding = "utf-8";
  let bom = false;
  let body = buf;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    bom = true;
    body = buf.subarray(3);
  } else if (buf[0] === 0xff && buf[1] === 0xfe) {
    [encoding, bom, body] = ["utf-16le", true, buf.subarray(2)];
  } else if (buf[0] === 0xfe && buf[1] === 0xff) {
    [encoding, bom, body] = ["utf-16be", true, buf.subarray(2)];
  } else {
    encoding = sniffUtf16(buf) ?? "utf-8";
  }
  let text: string;
  if (partial) body = encoding === "utf-8" ? body.subarray(0, body.lastIndexOf(0x0a) + 1) : body.subarray(0, body.length & ~1);
  if (encoding === "utf-8") {
    if (body.subarray(0, 8192).includes(0)) throw new BinaryFileError("contains NUL bytes");
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(body);
    } catch {
      throw new BinaryFileError("not valid UTF-8 or UTF-16 text");
    }
  } else {
    if (body.length % 2 !== 0) throw new BinaryFileError(`odd byte count for ${encoding}`);
    text = new TextDecoder(encoding).decode(body);
    if (partial) text = text.slice(0, text.lastIndexOf("\n") + 1);
    if (text.slice(0, 4096).includes("\u0000")) throw new BinaryFileError(`contains NUL characters as ${encoding}`);
  }
  const eol = /\r\n/.test(text.slice(0, 65536)) && !/(^|[^\r])\n/.test(text.slice(0, 65536)) ? "\r\n" : "\n";
  return { text, encoding, bom, eol };
}

/** UTF-16 without a BOM: mostly-ASCII text has a NUL in every other byte. */
function sniffUtf16(buf: Buffer): TextEncoding | undefined {
  const n = Math.min(buf.length, 4096) & ~1;
  if (n < 4) return undefined;
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i < n; i += 2) {
    if (buf[i] === 0) evenZero++;
    if (buf[i + 1] === 0) oddZero++;
  }
  const pairs = n / 2;
  if (oddZero > pairs * 0.7 && evenZero === 0) return "utf-16le";
  if (evenZero > pairs * 0.7 && oddZero === 0) return "utf-16be";
  return undefined;
}

/** Encodes text back the way it was read (encoding and BOM). */
export function encodeText(text: string, encoding: TextEncoding, bom: boolean): Buffer {
  if (encoding === "utf-8") {
    const body = Buffer.from(text, "utf8");
    return bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body;
  }
  const le = Buffer.from(text, "utf16le");
  const body = encoding === "utf-16be" ? le.swap16() : le;
  if (!bom) return body;
  return Buffer.concat([Buffer.from(encoding === "utf-16le" ? [0xff, 0xfe] : [0xfe, 0xff]), body]);
}

/** Splits text into lines, each keeping its own line ending (so joining gives the text back). */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.match(/[^\n]*\n|[^\n]+$/g);
  return lines ?? [];
}

/** Start offsets of every non-overlapping literal occurrence of `needle`. */
export function findAll(haystack: string, needle: string): number[] {
  const out: number[] = [];
  if (needle === "") return out;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) out.push(i);
  return out;
}

/** 1-based line number of each offset in `text`. */
export function lineNumbersAt(text: string, offsets: number[]): number[] {
  const out: number[] = [];
  let line = 1;
  let pos = 0;
  for (const off of offsets) {
    for (; pos < off; pos++) if (text.charCodeAt(pos) === 10) line++;
    out.push(line);
  }
  return out;
}

/** Human size: 512 B, 3.4 KiB, 1.2 MiB. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** `-rw-r--r--` style permission string. */
export function modeString(type: string, mode: number): string {
  const t = type === "dir" ? "d" : type === "symlink" ? "l" : type === "file" ? "-" : "?";
  let s = "";
  for (const shift of [6, 3, 0]) {
    const bits = (mode >> shift) & 7;
    s += (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") + (bits & 1 ? "x" : "-");
  }
  return t + s;
}
