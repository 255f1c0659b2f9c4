import { randomBytes } from "node:crypto";

/** The variable every child (and so every descendant that keeps its environment) carries: its tree's mark. */
export const TREE_VAR = "MCP_HERD_TREE";

/** The part of node:fs that findTree reads /proc with. */
export interface ProcFs {
  readdirSync(path: string): string[];
  readFileSync(path: string): Buffer;
}

/** A fresh mark for one child's tree (not a secret: it only lets us find what the child started). */
export function newTreeMark(): string {
  return randomBytes(8).toString("hex");
}

/** A live process: its pid, parent and group, as /proc/PID/stat gives them. */
export interface Proc {
  pid: number;
  ppid: number;
  pgrp: number;
}

/** Process `pid` as /proc shows it; undefined once it is gone, a zombie, or unreadable (no /proc). */
export function readProc(fs: ProcFs, pid: number): Proc | undefined {
  let t: string;
  try {
    t = fs.readFileSync(`/proc/${pid}/stat`).toString("latin1");
  } catch {
    return undefined;
  }
  const f = t.slice(t.lastIndexOf(")") + 2).split(" ");
  return f[0] === "Z" || f[0] === "X" ? undefined : { pid, ppid: Number(f[1]), pgrp: Number(f[2]) };
}

/** Every live (not zombie) process /proc lists; [] without /proc. */
export function listProcs(fs: ProcFs): Proc[] {
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return [];
  }
  const procs: Proc[] = [];
  // A name that is not a pid (self, sys, ...) reads as NaN, which has no stat.
  for (const e of entries) {
    const p = readProc(fs, Number(e));
    if (p) procs.push(p);
  }
  return procs;
}

/**
 * Every live process of a child's tree: the members of `groups`, the processes whose environment
 * carries one of `marks` (a `setsid` or double-forked grandchild that left the group and was
 * reparented), and all their descendants by parent pid. Linux /proc only; [] elsewhere.
 * The sh watchdog (child/reaper.ts) finds the same three kinds of member on its own when mcp-herd dies.
 */
export function findTree(fs: ProcFs, groups: number[], marks: string[], exclude: number[]): number[] {
  const procs = listProcs(fs);
  const needles = marks.map((m) => Buffer.from(`MCP_HERD_TREE=${m}\0`));
  const found = new Set<number>();
  for (const p of procs) {
    if (groups.includes(p.pgrp) || groups.includes(p.pid)) {
      found.add(p.pid);
      continue;
    }
    if (needles.length === 0) continue;
    let env: Buffer;
    try {
      env = fs.readFileSync(`/proc/${p.pid}/environ`);
    } catch {
      continue;
    }
    for (const n of needles) {
      const i = env.indexOf(n);
      if (i === 0 || (i > 0 && env[i - 1] === 0)) {
        found.add(p.pid);
        break;
      }
    }
  }
  const kids = new Map<number, number[]>();
  for (const p of procs) {
    const k = kids.get(p.ppid);
    if (k) k.push(p.pid);
    else kids.set(p.ppid, [p.pid]);
  }
  for (const x of exclude) found.delete(x);
  const queue = [...found];
  while (queue.length > 0) {
    for (const c of kids.get(queue.pop()!) ?? []) {
      if (!found.has(c) && !exclude.includes(c)) {
        found.add(c);
        queue.push(c);
      }
    }
  }
  return [...found];
}
