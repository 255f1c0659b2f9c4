import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A server child that said where it listens, and all it has written on that stream so far. */
export interface Listening {
  url: string;
  output(): string;
}

export interface ListenOptions {
  /** The stream the address line comes on (default stderr, as mcp-herd logs it). */
  stream?: "stdout" | "stderr";
  /** Its first group is the URL (default mcp-herd's `listening on http://…/mcp`). */
  re?: RegExp;
  timeoutMs?: number;
}

/** Waits (bounded) for a child's "listening" line; if it exits first or times out, kills it and rejects with its output. */
export function waitListening(proc: ChildProcess, what: string, opts: ListenOptions = {}): Promise<Listening> {
  const re = opts.re ?? /listening on (http:\/\/\S+\/mcp)/;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const stream = proc[opts.stream ?? "stderr"]!;
  let out = "";
  stream.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      stream.off("data", onData);
      proc.off("exit", onExit);
    };
    const fail = (why: string) => {
      done();
      proc.kill("SIGKILL");
      reject(new Error(`${what} ${why}:\n${out}`));
    };
    const onData = () => {
      const m = re.exec(out);
      if (!m) return;
      done();
      resolve({ url: m[1]!, output: () => out });
    };
    const onExit = (code: number | null) => fail(`exited with ${code} before listening`);
    const timer = setTimeout(() => fail(`did not listen within ${timeoutMs / 1000} s`), timeoutMs);
    stream.on("data", onData);
    proc.once("exit", onExit);
  });
}

/** Stops a child with `signal` (SIGKILL if it lingers 8 s) and resolves once it has exited. */
export async function stopProc(proc: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill(signal);
  const t = setTimeout(() => proc.kill("SIGKILL"), 8_000);
  await exited;
  clearTimeout(t);
}

/** The state letter of /proc/PID/stat (R, S, T, Z...), or undefined once the process is gone. */
export function procState(pid: number): string | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, "latin1");
    return t.slice(t.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** Detached node processes (each in a group of its own) that a test starts and must not leave behind. */
export class DetachedProcs {
  private readonly pids: number[] = [];

  /** Runs `script` in a detached node with only PATH and `env`; resolves once it printed "ready" (after the script ran). */
  async node(script: string, env: NodeJS.ProcessEnv = {}): Promise<ChildProcess & { pid: number }> {
    const p = spawn(process.execPath, ["-e", `${script}; setInterval(() => {}, 1 << 30); process.stdout.write("ready\\n")`], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
      env: { PATH: process.env.PATH, ...env },
    });
    this.track(p.pid!);
    await new Promise<void>((resolve, reject) => {
      p.stdout.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
      p.once("exit", () => reject(new Error("a test process exited before it was ready")));
    });
    return p as ChildProcess & { pid: number };
  }

  /** Also SIGKILLs the group of `pgid` (a group leader the test learned of) at the end. */
  track(pgid: number): void {
    this.pids.push(pgid);
  }

  /** SIGKILLs every tracked group; the ones already gone are what the test wanted. */
  killAll(): void {
    for (const pid of this.pids.splice(0)) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }
}

/** The number a process wrote to `file`, once it is there (bounded wait). */
export async function pidFromFile(file: string, timeoutMs = 5_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    let text = "";
    try {
      text = readFileSync(file, "utf8").trim();
    } catch {
      /* not written yet */
    }
    if (/^\d+$/.test(text)) return Number(text);
    if (Date.now() > end) throw new Error(`no pid in ${file} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A zombie that leads a group of its own: a perl parent (in our group) forks it, and the child exits unreaped. */
export async function zombieGroup(): Promise<{ zombie: number; parent: ChildProcess }> {
  const parent = spawn("/usr/bin/perl", ["-e", '$| = 1; $p = fork; if (!$p) { setpgrp(0, 0); exit 0 } print "$p\\n"; sleep 30'], { stdio: ["ignore", "pipe", "ignore"] });
  const zombie = await new Promise<number>((resolve, reject) => {
    parent.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
    parent.once("exit", (code) => reject(new Error(`perl exited (${code}) before it forked: is /usr/bin/perl there?`)));
  });
  const end = Date.now() + 5_000;
  while (procState(zombie) !== "Z") {
    if (Date.now() > end) throw new Error(`process ${zombie} did not become a zombie`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return { zombie, parent };
}

export interface StandInOptions {
  /** Runs it in a mount namespace of its own where these are hidden: a folder under an empty tmpfs (e.g. /proc: a system without it), a file under /dev/null. */
  hide?: string[];
  /** Runs it as this unprivileged uid/gid (e.g. 65534, nobody) once its imports are loaded (a mutation sandbox may be unreadable to that user). */
  uid?: number;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface StandInRun {
  /** What the script wrote with `report(value)` (JSON), or undefined if it never did. */
  result: unknown;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

type StrykerNs = { activeMutant?: string; currentTestId?: string; mutantCoverage?: { static: Record<string, number>; perTest: Record<string, Record<string, number>> } };
const strykerNs = () => (globalThis as { __stryker__?: StrykerNs }).__stryker__;

/**
 * Runs `body` (TypeScript with top-level await; it calls `report(value)` once) in a detached node stand-in that
 * imports src/ through tsx. Under a mutation run it runs the worker's active mutant, and the code it covered is
 * counted for the current test (Stryker picks tests by the code they run in-process).
 */
export async function runStandIn(dir: string, body: string, opts: StandInOptions = {}): Promise<StandInRun> {
  const file = join(dir, `stand-in-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(
    file,
    `const report = (v: unknown) => process.stdout.write("@@result " + JSON.stringify(v) + "\\n");\n` +
      (opts.uid !== undefined ? `process.setgroups([]); process.setgid(${opts.uid}); process.setuid(${opts.uid});\n` : "") +
      `${body}\n` +
      `process.stdout.write("@@cov " + JSON.stringify((globalThis as { __stryker__?: { mutantCoverage?: unknown } }).__stryker__?.mutantCoverage ?? null) + "\\n");\n`,
  );
  const node = [process.execPath, "--import", "tsx", file];
  const hide = 'while [ "$1" != -- ]; do if [ -d "$1" ]; then mount -t tmpfs none "$1"; else mount --bind /dev/null "$1"; fi || exit 97; shift; done; shift; exec "$@"';
  const argv = opts.hide?.length ? ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", hide, "sh", ...opts.hide, "--", ...node] : node;
  const active = strykerNs()?.activeMutant;
  const p = spawn(argv[0]!, argv.slice(1), {
    cwd: process.cwd(),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env, ...(active !== undefined ? { __STRYKER_ACTIVE_MUTANT__: String(active) } : {}) },
  });
  let out = "";
  let err = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const timer = setTimeout(() => {
    try {
      process.kill(-p.pid!, "SIGKILL");
    } catch {
      /* already gone */
    }
  }, timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => p.once("close", (c, s) => r([c, s])));
  clearTimeout(timer);
  const line = (tag: string) => out.split("\n").find((l) => l.startsWith(`@@${tag} `))?.slice(tag.length + 3);
  const cov = line("cov");
  const ns = strykerNs();
  if (cov && cov !== "null" && ns?.mutantCoverage && ns.currentTestId !== undefined) {
    const got = JSON.parse(cov) as { static?: Record<string, number>; perTest?: Record<string, Record<string, number>> };
    const mine = (ns.mutantCoverage.perTest[ns.currentTestId] ??= {});
    for (const part of [got.static ?? {}, ...Object.values(got.perTest ?? {})]) for (const [id, n] of Object.entries(part)) mine[id] = (mine[id] ?? 0) + n;
  }
  const result = line("result");
  return { result: result === undefined ? undefined : JSON.parse(result), code, signal, stderr: err };
}
