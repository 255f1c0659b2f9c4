import type { ServiceSpec } from "../../config.js";
import type { PrepareOptions } from "../types.js";
import { installerEnv } from "./fsutil.js";
import { runInstaller, type RunResult } from "./run.js";

/** What every source step needs: the service, its spec, the caller's options, and the install clock. */
export interface SourceContext {
  name: string;
  spec: ServiceSpec;
  opts: PrepareOptions;
  /** Milliseconds spent in installers so far (clone + installs). */
  installMs: number;
  /** Absolute time by which every installer of this prepare must have finished. */
  deadline: number;
}

/** Creates the context for one prepare; the install bound covers all of its installers together. */
export function createContext(name: string, spec: ServiceSpec, opts: PrepareOptions): SourceContext {
  return { name, spec, opts, installMs: 0, deadline: Date.now() + opts.installTimeoutMs };
}

/** Runs one installer step under the prepare's remaining bound, reporting its lines as the given phase. */
export async function step(
  ctx: SourceContext,
  phase: "cloning" | "installing" | "resolving",
  what: string,
  command: string,
  args: string[],
  more: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  ctx.opts.log.debug("running installer", { service: ctx.name, command, args });
  ctx.opts.onPhase?.(phase, what);
  const res = await runInstaller(command, args, {
    cwd: more.cwd,
    env: installerEnv(more.env),
    timeoutMs: Math.max(1, ctx.deadline - Date.now()),
    signal: ctx.opts.signal,
    onLine: (line) => ctx.opts.onPhase?.(phase, line),
    what: `service '${ctx.name}': ${what}`,
    boundMs: ctx.opts.installTimeoutMs,
  });
  if (phase !== "resolving") ctx.installMs += res.ms;
  return res;
}
