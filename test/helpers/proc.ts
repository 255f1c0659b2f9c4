import type { ChildProcess } from "node:child_process";

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
