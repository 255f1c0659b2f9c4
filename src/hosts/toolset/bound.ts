import type { ToolResult } from "../../backends/backend.js";
import { formatSize } from "../../backends/host-files.js";

/**
 * 6 MiB: the most a host tool result may take as JSON on the wire, every copy of a stream and every escape
 * counted (a NUL is 6 bytes in JSON). Two full 1 MiB streams sent twice fit with room for escapes; it stays
 * well under the 10 MiB an SDK stdio client accepts per message.
 */
export const MAX_RESULT_BYTES = 6 * 1024 * 1024;

/** Strings shorter than this are never cut: the room goes to the big ones. */
const SMALL = 256;
/** Room left for each cut marker. */
const MARKER_ROOM = 160;

interface Leaf {
  get(): string;
  set(v: string): void;
  cost: number;
  /** The object holding it, whose `truncated` flag is set when it is cut. */
  owner?: Record<string, unknown>;
}

/** Bytes `s` takes inside a JSON string literal (UTF-8, escapes counted, quotes not). */
export function jsonStringBytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) n += charCost(s, i);
  return n;
}

function charCost(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0x20) return c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6;
  if (c === 0x22 || c === 0x5c) return 2;
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c <= 0xdbff) {
    const d = s.charCodeAt(i + 1);
    return d >= 0xdc00 && d <= 0xdfff ? 1 : 6; // the pair's 4 bytes: 1 here, 3 on the low half
  }
  if (c >= 0xdc00 && c <= 0xdfff) {
    const p = s.charCodeAt(i - 1);
    return p >= 0xd800 && p <= 0xdbff ? 3 : 6;
  }
  return 3;
}

/** The longest prefix of `s` costing at most `budget` JSON bytes, never splitting a surrogate pair. */
function prefixWithin(s: string, budget: number): string {
  let n = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const c = charCost(s, i);
    if (n + c > budget) break;
    n += c;
  }
  if (i > 0 && i < s.length && /[\ud800-\udbff]/.test(s[i - 1]!)) i--;
  return s.slice(0, i);
}

/** The longest suffix of `s` costing at most `budget` JSON bytes, never splitting a surrogate pair. */
function suffixWithin(s: string, budget: number): string {
  let n = 0;
  let i = s.length;
  for (; i > 0; i--) {
    const c = charCost(s, i - 1);
    if (n + c > budget) break;
    n += c;
  }
  if (i < s.length && i > 0 && /[\udc00-\udfff]/.test(s[i]!)) i++;
  return s.slice(i);
}

/** Keeps the start and the end of `s` within `budget` JSON bytes, with a marker saying what was cut and why. */
function cutMiddle(s: string, budget: number, max: number): string {
  const total = Buffer.byteLength(s);
  const room = Math.max(0, budget - MARKER_ROOM);
  const head = prefixWithin(s, Math.ceil(room / 2));
  const tail = suffixWithin(s.slice(head.length), Math.floor(room / 2));
  const cut = total - Buffer.byteLength(head) - Buffer.byteLength(tail);
  return `${head}\n[... output truncated to fit the ${formatSize(max)} message bound: cut ${cut} of ${total} bytes here ...]\n${tail}`;
}

function leavesOf(result: ToolResult): Leaf[] {
  const leaves: Leaf[] = [];
  for (const block of result.content ?? []) {
    if (block.type === "text") {
      const b = block as { text: string };
      leaves.push({ get: () => b.text, set: (v) => (b.text = v), cost: 0 });
    }
  }
  const walk = (o: Record<string, unknown> | unknown[], depth: number) => {
    if (depth > 4) return;
    for (const key of Object.keys(o)) {
      const rec = o as Record<string, unknown>;
      const v = rec[key];
      if (typeof v === "string") {
        leaves.push({ get: () => rec[key] as string, set: (s) => (rec[key] = s), cost: 0, owner: Array.isArray(o) ? undefined : rec });
      } else if (v && typeof v === "object") walk(v as Record<string, unknown>, depth + 1);
    }
  };
  if (result.structuredContent) walk(result.structuredContent as Record<string, unknown>, 0);
  return leaves;
}

/** Bytes of the result as JSON (what the transport will send, less the JSON-RPC envelope). */
export function resultBytes(result: ToolResult): number {
  return Buffer.byteLength(JSON.stringify(result));
}

/**
 * Cuts the biggest strings of a result (text blocks and structured fields alike, so both copies of a stream
 * shrink) until the whole result fits in `max` bytes of JSON; each cut string says so, and a `truncated` flag
 * beside a cut field is set.
 */
export function boundResult(result: ToolResult, max = MAX_RESULT_BYTES): ToolResult {
  let size = resultBytes(result);
  if (size <= max) return result;
  const out = structuredClone(result);
  const leaves = leavesOf(out);
  for (let round = 0; round < 4 && size > max; round++) {
    for (const l of leaves) l.cost = jsonStringBytes(l.get());
    const big = leaves.filter((l) => l.cost > SMALL).sort((a, b) => a.cost - b.cost);
    if (big.length === 0) break;
    const fixed = size - big.reduce((n, l) => n + l.cost, 0);
    let budget = max - fixed - big.length * MARKER_ROOM - 1024 * round;
    // Water-filling: every big string gets the same cap, and ones under the cap keep all they have.
    let cap = Infinity;
    for (let i = 0; i < big.length; i++) {
      const share = Math.floor(budget / (big.length - i));
      if (big[i]!.cost <= share) budget -= big[i]!.cost;
      else {
        cap = share;
        break;
      }
    }
    for (const l of big) {
      if (l.cost <= cap) continue;
      l.set(cutMiddle(l.get(), Math.max(SMALL, cap), max));
      if (l.owner && typeof l.owner.truncated === "boolean") l.owner.truncated = true;
    }
    size = resultBytes(out);
  }
  return out;
}
