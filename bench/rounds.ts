import * as fs from "node:fs";
import { findTree } from "../src/backends/child/tree.js";
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

/** RSS of a whole process tree in MiB, with the command name of each member (the root named `rootName`). */
export function treeRss(root: number, rootName: string): { total: number; parts: string[] } {
  const parts: string[] = [];
  let total = 0;
  for (const p of findTree(fs, [root], [], [])) {
    try {
      const r = rssMiB(p);
      const comm = p === root ? rootName : fs.readFileSync(`/proc/${p}/comm`, "utf8").trim();
      total += r;
      parts.push(`${comm} ${r.toFixed(1)}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return { total, parts };
}
