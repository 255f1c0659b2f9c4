import { existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StdioLaunch } from "../types.js";
import type { SourceContext } from "./context.js";
import { step } from "./context.js";
import { detectNodeEntry, detectPythonEntry, detectRuntime, type PackageJson, type Runtime } from "./detect.js";
import { findOnPath, hashFiles, readJson } from "./fsutil.js";
import { ensureVenv, pipInstall, systemPython, venvEnv, venvPaths } from "./pyenv.js";

export interface PreparedLaunch {
  launch: StdioLaunch;
  detail: string;
}

/** Checks that a path source is an existing folder and returns its real path. */
export function checkFolder(path: string, what = "path"): string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new Error(`${what} ${path} cannot be used: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (it must be an existing folder)`);
  }
  if (!st.isDirectory()) throw new Error(`${what} ${path} is not a folder`);
  return realpathSync(path);
}

function hasDependencies(pkg: PackageJson): boolean {
  return [pkg.dependencies, pkg.optionalDependencies].some((d) => d && typeof d === "object" && Object.keys(d).length > 0);
}

async function installNode(ctx: SourceContext, dir: string, runtime: "node" | "bun"): Promise<string> {
  const pkg = (readJson(join(dir, "package.json")) ?? {}) as PackageJson;
  if (!hasDependencies(pkg)) return "no dependencies";
  if (existsSync(join(dir, "node_modules"))) return "node_modules present";
  const scripts = ctx.spec.allow_scripts ? [] : ["--ignore-scripts"];
  if (runtime === "bun") {
    await step(ctx, "installing", `bun install in ${dir}`, findOnPath("bun") ?? "bun", ["install", ...scripts], { cwd: dir });
    return "bun install";
  }
  const locked = existsSync(join(dir, "package-lock.json")) || existsSync(join(dir, "npm-shrinkwrap.json"));
  const verb = locked ? "ci" : "install";
  await step(ctx, "installing", `npm ${verb} in ${dir}`, findOnPath("npm") ?? "npm", [verb, ...scripts, "--no-audit", "--no-fund"], {
    cwd: dir,
  });
  return `npm ${verb}`;
}

const PY_MARKERS = ["requirements.txt", "pyproject.toml", "setup.py", "setup.cfg"];
const INSTALLED = ".mcp-herd-installed";

/** Installs a Python folder's dependencies into the service's own venv; skipped when nothing changed since. */
async function installPython(ctx: SourceContext, dir: string): Promise<string | undefined> {
  const hasReq = existsSync(join(dir, "requirements.txt"));
  const isProject = existsSync(join(dir, "pyproject.toml")) || existsSync(join(dir, "setup.py"));
  if (!hasReq && !isProject) return undefined;
  const venv = join(ctx.opts.stateDir, "venvs", ctx.name);
  const stamp = `${dir}\n${hashFiles(dir, PY_MARKERS)}\n${ctx.spec.allow_scripts ? "scripts" : "noscripts"}`;
  const marker = join(venv, INSTALLED);
  if (existsSync(venvPaths(venv).python) && existsSync(marker) && readFileSync(marker, "utf8") === stamp) return venv;
  mkdirSync(join(ctx.opts.stateDir, "venvs"), { recursive: true });
  await ensureVenv(ctx, venv);
  if (hasReq) await pipInstall(ctx, venv, `pip install -r requirements.txt for ${dir}`, ["-r", "requirements.txt"], dir);
  else await pipInstall(ctx, venv, `pip install of ${dir}`, ["."], dir);
  writeFileSync(marker, stamp);
  return venv;
}

async function pythonLaunch(ctx: SourceContext, dir: string, install: boolean): Promise<PreparedLaunch> {
  const venv = install ? await installPython(ctx, dir) : undefined;
  const python = venv ? venvPaths(venv).python : systemPython();
  const env: Record<string, string> = venv ? venvEnv(venv) : {};
  const entry = detectPythonEntry(dir);
  let args: string[];
  let command = python;
  if (entry.kind === "file") args = [entry.file];
  else if (entry.kind === "module") {
    args = ["-m", entry.module];
    if (entry.pythonPath) env.PYTHONPATH = entry.pythonPath;
  } else if (venv && existsSync(join(venvPaths(venv).bin, entry.script))) {
    command = join(venvPaths(venv).bin, entry.script);
    args = [];
  } else {
    args = ["-c", `import sys; from ${entry.module} import ${entry.attr} as _m; sys.exit(_m())`];
    if (existsSync(join(dir, "src"))) env.PYTHONPATH = join(dir, "src");
  }
  const where = venv ? `venv ${venv}` : "system python";
  return {
    launch: { kind: "stdio", command, args, cwd: dir, env },
    detail: `python folder ${dir} (${where}), entry ${[command, ...args].join(" ")}`,
  };
}

/** Prepares a local folder: runtime and entry detection, then its dependency install unless `install: false`. */
export async function prepareFolder(ctx: SourceContext, folder: string): Promise<PreparedLaunch> {
  const dir = checkFolder(folder);
  const runtime: Runtime = detectRuntime(dir, ctx.spec.runtime, findOnPath("bun") !== undefined);
  const install = ctx.spec.install !== false;
  const prepared =
    runtime === "python"
      ? await pythonLaunch(ctx, dir, install)
      : await nodeLaunch(ctx, dir, runtime, install);
  const extra = ctx.spec.args ?? [];
  prepared.launch.args.push(...extra);
  if (ctx.spec.cwd) prepared.launch.cwd = checkFolder(ctx.spec.cwd, "cwd");
  Object.assign(prepared.launch.env, ctx.spec.env ?? {});
  return prepared;
}

async function nodeLaunch(ctx: SourceContext, dir: string, runtime: "node" | "bun", install: boolean): Promise<PreparedLaunch> {
  let bun: string | undefined;
  if (runtime === "bun") {
    bun = findOnPath("bun");
    if (!bun) throw new Error(`runtime 'bun' was asked for ${dir} but bun is not on PATH: install bun or set runtime 'node'`);
  }
  const entry = detectNodeEntry(dir);
  const installed = install ? await installNode(ctx, dir, runtime) : "install skipped";
  const command = bun ?? process.execPath;
  return {
    launch: { kind: "stdio", command, args: [entry], cwd: dir, env: {} },
    detail: `${runtime} folder ${dir} (${installed}), entry ${entry}`,
  };
}
