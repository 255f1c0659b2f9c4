import { existsSync } from "node:fs";
import { join } from "node:path";
import { type SourceContext, step } from "./context.js";
import { findOnPath } from "./fsutil.js";

/** The Python interpreter we build venvs with: python3 on PATH, else python. */
export function systemPython(): string {
  const found = findOnPath("python3") ?? findOnPath("python");
  if (!found) throw new Error("no python3 (or python) on PATH: install Python 3 to run Python services");
  return found;
}

/** Paths inside a venv folder. */
export function venvPaths(dir: string): { python: string; bin: string } {
  return { python: join(dir, "bin", "python"), bin: join(dir, "bin") };
}

/** Environment that makes a child see the venv first, as `activate` would. */
export function venvEnv(dir: string): Record<string, string> {
  return { VIRTUAL_ENV: dir, PATH: `${join(dir, "bin")}:${process.env.PATH ?? ""}` };
}

/** Creates the venv when its interpreter is missing (a half-made one is replaced). */
export async function ensureVenv(ctx: SourceContext, dir: string): Promise<void> {
  if (existsSync(venvPaths(dir).python)) return;
  await step(ctx, "installing", `creating a Python venv in ${dir}`, systemPython(), ["-m", "venv", "--clear", dir]);
}

/** pip install into a venv; without allow_scripts only wheels are accepted, so no setup.py runs. */
export async function pipInstall(ctx: SourceContext, dir: string, what: string, args: string[], cwd?: string): Promise<void> {
  const safety = ctx.spec.allow_scripts ? [] : ["--only-binary=:all:"];
  await step(
    ctx,
    "installing",
    what,
    venvPaths(dir).python,
    ["-m", "pip", "install", "--no-input", "--disable-pip-version-check", ...safety, ...args],
    { cwd },
  );
}

const ENTRY_POINTS = [
  "import json, sys",
  "from importlib.metadata import distribution",
  "d = distribution(sys.argv[1])",
  "eps = [[e.name, e.value] for e in d.entry_points if e.group == 'console_scripts']",
  "print('MCP_HERD_EPS ' + json.dumps({'name': d.metadata['Name'], 'scripts': eps}))",
].join("\n");

const normalize = (s: string) => s.toLowerCase().replace(/[-_.]+/g, "-");

/** Chooses the console script of an installed distribution from its own entry points, never from a guess. */
export async function resolveConsoleScript(ctx: SourceContext, venvDir: string, dist: string): Promise<{ script: string; path: string }> {
  const { python, bin } = venvPaths(venvDir);
  const res = await step(ctx, "resolving", `reading the entry points of '${dist}'`, python, ["-c", ENTRY_POINTS, dist]);
  const line = res.lines.find((l) => l.startsWith("MCP_HERD_EPS "));
  if (!line) throw new Error(`service '${ctx.name}': could not read the entry points of '${dist}'`);
  const info = JSON.parse(line.slice("MCP_HERD_EPS ".length)) as { name: string; scripts: Array<[string, string]> };
  const names = info.scripts.map(([n]) => n);
  const chosen = names.find((n) => normalize(n) === normalize(dist)) ?? (names.length === 1 ? names[0] : undefined);
  if (!chosen) {
    throw new Error(
      names.length === 0
        ? `service '${ctx.name}': Python package '${dist}' declares no console script, so there is nothing to run; use 'command' with its venv's python instead`
        : `service '${ctx.name}': Python package '${dist}' declares several console scripts (${names.join(", ")}) and none is named like the package; use 'command' with ${bin}/<script>`,
    );
  }
  const path = join(bin, chosen);
  if (!existsSync(path)) throw new Error(`service '${ctx.name}': console script '${chosen}' of '${dist}' is not in ${bin}`);
  return { script: chosen, path };
}
