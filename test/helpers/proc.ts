import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";

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
