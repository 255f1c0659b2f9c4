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

/** One process's memory in MiB: VmRSS, PSS, and its private and shared resident pages (/proc/PID/smaps_rollup). */
export function procMem(pid: number): { rss: number; pss: number; private: number; shared: number } {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? NaN) / 1024;
  return { rss: rssMiB(pid), pss: kb("Pss"), private: kb("Private_Clean") + kb("Private_Dirty"), shared: kb("Shared_Clean") + kb("Shared_Dirty") };
}

/**
 * A whole process tree's memory in MiB, three ways. `rss`: the sum of VmRSS, which counts the pages
 * its Node processes share (the node binary's ~40 MiB of text) once per process. `pss`: the sum of
 * PSS, which splits every shared page among all processes of the machine that map it, so it drops
 * as more Node processes run anywhere. `own`: what the tree holds itself, its private pages plus
 * the largest shared set of one member (the node binary's pages, which every Node member maps),
 * counted once; the figure the targets are read against.
 */
export function treeMem(root: number, rootName: string): { rss: number; pss: number; own: number; parts: string[] } {
  const parts: string[] = [];
  const sum = { rss: 0, pss: 0, private: 0, shared: 0 };
  for (const p of findTree(fs, [root], [], [])) {
    try {
      const m = procMem(p);
      const comm = p === root ? rootName : fs.readFileSync(`/proc/${p}/comm`, "utf8").trim();
      sum.rss += m.rss;
      sum.pss += m.pss;
      sum.private += m.private;
      sum.shared = Math.max(sum.shared, m.shared);
      parts.push(`${comm} ${m.rss.toFixed(1)}/${m.pss.toFixed(1)}/${m.private.toFixed(1)}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return { rss: sum.rss, pss: sum.pss, own: sum.private + sum.shared, parts };
}
