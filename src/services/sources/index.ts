import type { PrepareSource, Prepared } from "../types.js";
import { validateSpec } from "../validate.js";
import { createContext } from "./context.js";
import { cloneInto } from "./git.js";
import { checkFolder, prepareFolder, type PreparedLaunch } from "./path.js";
import { prepareNpm } from "./npm.js";
import { preparePython } from "./python.js";

/** Validates a service spec and makes it runnable (clone, install, resolve the entry) without starting it. */
export const prepareSource: PrepareSource = async (name, spec, opts): Promise<Prepared> => {
  const kind = validateSpec(name, spec);
  const ctx = createContext(name, spec, opts);
  opts.onPhase?.("resolving", kind);
  let prepared: PreparedLaunch | undefined;
  switch (kind) {
    case "url":
      return {
        source: kind,
        launch: { kind: "url", url: spec.url!, headers: { ...(spec.headers ?? {}) }, ...(spec.type === "sse" ? { transport: "sse" as const } : {}), ...(spec.protocol ? { protocol: spec.protocol } : {}) },
        install_ms: 0,
        detail: `remote MCP server ${new URL(spec.url!).origin}${spec.type === "sse" ? " (HTTP+SSE)" : ""}`,
      };
    case "command": {
      const cwd = spec.cwd ? checkFolder(spec.cwd, "cwd") : undefined;
      return {
        source: kind,
        launch: { kind: "stdio", command: spec.command!, args: [...(spec.args ?? [])], cwd, env: { ...(spec.env ?? {}) }, ...(spec.protocol ? { protocol: spec.protocol } : {}) },
        install_ms: 0,
        detail: `command ${spec.command}`,
      };
    }
    case "path":
      prepared = await prepareFolder(ctx, spec.path!);
      break;
    case "git": {
      const dir = await cloneInto(ctx, spec.git!, spec.ref);
      prepared = await prepareFolder(ctx, dir);
      prepared.detail = `git ${spec.git}${spec.ref ? ` at ${spec.ref}` : ""} -> ${prepared.detail}`;
      break;
    }
    case "npm":
      prepared = await prepareNpm(ctx, spec.npm!);
      break;
    case "python":
      prepared = await preparePython(ctx, spec.python!);
      break;
  }
  const launch = spec.protocol ? { ...prepared.launch, protocol: spec.protocol } : prepared.launch;
  return { source: kind, launch, install_ms: ctx.installMs, detail: prepared.detail };
};

export { SpecError } from "../validate.js";
export { InstallError } from "./run.js";
