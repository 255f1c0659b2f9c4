type Op = { t: " " | "-" | "+"; line: string };

/** A unified diff (3 lines of context) of two texts, for edit_file's dry run; "" when they are equal. */
export function unifiedDiff(before: string, after: string, path: string, context = 3): string {
  const a = toLines(before);
  const b = toLines(after);
  const ops = diffLines(a, b);
  if (!ops.some((o) => o.t !== " ")) return "";
  const out = [`--- a/${path}`, `+++ b/${path}`];
  for (const [from, to] of hunkRanges(ops, context)) {
    let aStart = 1;
    let bStart = 1;
    for (let i = 0; i < from; i++) {
      if (ops[i]!.t !== "+") aStart++;
      if (ops[i]!.t !== "-") bStart++;
    }
    const slice = ops.slice(from, to);
    const aLen = slice.filter((o) => o.t !== "+").length;
    const bLen = slice.filter((o) => o.t !== "-").length;
    out.push(`@@ -${aLen ? aStart : aStart - 1},${aLen} +${bLen ? bStart : bStart - 1},${bLen} @@`);
    for (const o of slice) {
      const noEol = !o.line.endsWith("\n");
      out.push(o.t + o.line.replace(/\r?\n$/, ""));
      if (noEol) out.push("\\ No newline at end of file");
    }
  }
  return out.join("\n") + "\n";
}

function toLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** [from, to) op index ranges of hunks, merging changes closer than 2 * context. */
function hunkRanges(ops: Op[], context: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < ops.length; i++) {
    if (ops[i]!.t === " ") continue;
    const from = Math.max(0, i - context);
    let end = i;
    while (end + 1 < ops.length) {
      let next = end + 1;
      while (next < ops.length && ops[next]!.t === " ") next++;
      if (next < ops.length && next - end - 1 <= 2 * context) end = next;
      else break;
    }
    const to = Math.min(ops.length, end + 1 + context);
    const last = ranges[ranges.length - 1];
    if (last && from <= last[1]) last[1] = to;
    else ranges.push([from, to]);
    i = end;
  }
  return ranges;
}

/** Myers' O(ND) line diff on the part between the common prefix and suffix. */
function diffLines(a: string[], b: string[]): Op[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const head: Op[] = a.slice(0, pre).map((line) => ({ t: " ", line }));
  const tail: Op[] = a.slice(a.length - suf).map((line) => ({ t: " ", line }));
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const middle =
    am.length + bm.length > 20000
      ? [...am.map((line): Op => ({ t: "-", line })), ...bm.map((line): Op => ({ t: "+", line }))]
      : myers(am, bm);
  return [...head, ...middle, ...tail];
}

function myers(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) [x, y] = [x + 1, y + 1];
      v[off + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const t = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && t[off + k - 1]! < t[off + k + 1]!) ? k + 1 : k - 1;
    const prevX = t[off + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ t: " ", line: a[--x]! });
      y--;
    }
    if (x === prevX) ops.push({ t: "+", line: b[--y]! });
    else ops.push({ t: "-", line: a[--x]! });
  }
  while (x > 0 && y > 0) {
    ops.push({ t: " ", line: a[--x]! });
    y--;
  }
  return ops.reverse();
}
