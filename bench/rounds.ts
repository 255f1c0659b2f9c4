import { readdirSync, readFileSync } from "node:fs";
import { rssMiB, stats, type Row } from "./lib.js";

/** One contender of a figure: a name and one round's measurement (lower is better unless the row says so). */
export interface Variant {
  name: string;
  run(): Promise<number>;
}

/**
 * Runs every variant once per round, the order rotating each round (A B C, B C A, C A B, ...), so
 * that neither warm-up, nor the machine's load drifting, nor being first favours anyone.
 */
export async function interleave(variants: Variant[], rounds: number): Promise<Map<string, number[]>> {
  const out = new Map(variants.map((v) => [v.name, [] as number[]]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(r + i) % variants.length]!;
      out.get(v.name)!.push(await v.run());
    }
  }
  return out;
}

/** A row from interleaved rounds: medians of each side, and the median and spread of the per-round ratios. */
export function ratioRow(figure: string, m: Map<string, number[]>, who: string, base: string, unit: string, target?: string): Row {
  const a = m.get(who)!;
  const b = m.get(base)!;
  const ratios = a.map((v, i) => v / b[i]!).sort((x, y) => x - y);
  return { figure, herd: stats(a).median, baseline: stats(b).median, unit, target, ratio: stats(ratios).median, spread: [ratios[0]!, ratios.at(-1)!] };
}

/** Every pid of the tree under `root` by parent pid (root included). */
export function treePids(root: number): number[] {
  const kids = new Map<number, number[]>();
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const t = readFileSync(`/proc/${e}/stat`, "latin1");
      const ppid = Number(t.slice(t.lastIndexOf(")") + 2).split(" ")[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(e)]);
    } catch {
      /* gone meanwhile */
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(kids.get(out[i]!) ?? []));
  return out;
}

/** RSS of a whole process tree in MiB, with the command name of each member (the root named `rootName`). */
export function treeRss(root: number, rootName: string): { total: number; parts: string[] } {
  const parts: string[] = [];
  let total = 0;
  for (const p of treePids(root)) {
    try {
      const r = rssMiB(p);
      const comm = p === root ? rootName : readFileSync(`/proc/${p}/comm`, "utf8").trim();
      total += r;
      parts.push(`${comm} ${r.toFixed(1)}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return { total, parts };
}
