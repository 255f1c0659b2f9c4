import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parsePythonSpec } from "../validate.js";
import type { SourceContext } from "./context.js";
import { findOnPath, specFolderName } from "./fsutil.js";
import type { PreparedLaunch } from "./path.js";
import { ensureVenv, pipInstall, resolveConsoleScript, venvEnv } from "./pyenv.js";

const MARKER = ".mcp-herd-installed.json";

/** `uvx SPEC` when uv is on PATH (uv installs and caches it at launch), else a cached venv + pip + the dist's console script. */
export async function preparePython(ctx: SourceContext, spec: string, uvx = findOnPath("uvx")): Promise<PreparedLaunch> {
  const { name, extras, version } = parsePythonSpec(spec);
  const extraArgs = ctx.spec.args ?? [];
  if (uvx) {
    const args = extras || version ? ["--from", spec, name, ...extraArgs] : [name, ...extraArgs];
    return {
      launch: { kind: "stdio", command: uvx, args, cwd: ctx.spec.cwd, env: { ...(ctx.spec.env ?? {}) } },
      detail: `python ${spec} via ${uvx} (uv installs it at first start)`,
    };
  }
  const venv = join(ctx.opts.stateDir, "venvs", `pkg-${specFolderName(spec)}`);
  const marker = join(venv, MARKER);
  const stamp = JSON.stringify({ spec, scripts: !!ctx.spec.allow_scripts });
  let how = "cached";
  if (!existsSync(marker) || readFileSync(marker, "utf8") !== stamp) {
    mkdirSync(join(ctx.opts.stateDir, "venvs"), { recursive: true });
    await ensureVenv(ctx, venv);
    await pipInstall(ctx, venv, `pip install of '${spec}'`, ["--", spec]);
    writeFileSync(marker, stamp);
    how = "installed";
  }
  const { script, path } = await resolveConsoleScript(ctx, venv, name);
  return {
    launch: { kind: "stdio", command: path, args: [...extraArgs], cwd: ctx.spec.cwd, env: { ...venvEnv(venv), ...(ctx.spec.env ?? {}) } },
    detail: `python ${spec} (${how} in venv ${venv}), console script ${script}`,
  };
}
