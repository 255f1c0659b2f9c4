import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { readJson } from "./fsutil.js";

export type Runtime = "node" | "bun" | "python";

/** Picks the runtime from marker files, as the old runner did; an explicit runtime wins. */
export function detectRuntime(dir: string, override: Runtime | undefined, bunOnPath: boolean): Runtime {
  if (override) return override;
  const has = (f: string) => existsSync(join(dir, f));
  if ((has("bun.lockb") || has("bun.lock")) && bunOnPath) return "bun";
  if (has("package.json")) return "node";
  if (has("pyproject.toml") || has("requirements.txt") || has("setup.py")) return "python";
  if (listFiles(dir).some((f) => f.endsWith(".py"))) return "python";
  throw new Error(
    `cannot tell how to run the folder ${dir}: it has no package.json, pyproject.toml, requirements.txt, setup.py or .py file; set 'runtime' or use 'command'`,
  );
}

function listFiles(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Keeps a file named by the project inside the project (a package.json may say "../../x"). */
export function insideDir(dir: string, rel: string): string | undefined {
  const abs = resolve(dir, rel);
  const r = relative(dir, abs);
  if (r === "" || r.startsWith("..") || r.startsWith(sep)) return undefined;
  return abs;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A module path as Node resolves a package entry: exact, then .js, then /index.js. */
function resolveModule(dir: string, rel: string): string | undefined {
  const abs = insideDir(dir, rel);
  if (!abs) return undefined;
  return [abs, `${abs}.js`, join(abs, "index.js")].find(isFile);
}

export interface PackageJson {
  name?: string;
  main?: string;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** The bin a package declares: a string, the entry named like the package, or its first/only entry. */
export function packageBin(pkg: PackageJson, strict: boolean): string | undefined {
  if (typeof pkg.bin === "string") return pkg.bin;
  if (!pkg.bin || typeof pkg.bin !== "object") return undefined;
  const entries = Object.entries(pkg.bin).filter(([, v]) => typeof v === "string");
  const unscoped = (pkg.name ?? "").replace(/^@[^/]+\//, "");
  const named = entries.find(([k]) => k === unscoped);
  if (named) return named[1];
  if (entries.length === 1 || (!strict && entries.length > 0)) return entries[0]![1];
  return undefined;
}

/** The JS entry of a folder: package.json bin, main, dist/index.js, index.js. */
export function detectNodeEntry(dir: string): string {
  const pkg = (readJson(join(dir, "package.json")) ?? {}) as PackageJson;
  const tried: string[] = [];
  const bin = packageBin(pkg, false);
  for (const cand of [bin, pkg.main, "dist/index.js", "index.js"]) {
    if (typeof cand !== "string" || !cand) continue;
    tried.push(cand);
    const found = resolveModule(dir, cand);
    if (found) return found;
  }
  throw new Error(
    `no entry file in ${dir} (tried ${tried.join(", ")}): build the project first (e.g. npm run build), or use 'command' + 'args'`,
  );
}

/** The scripts table of a pyproject.toml (`[project.scripts]`), read with a tiny line parser. */
export function pyprojectScripts(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let inScripts = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line.startsWith("[")) {
      inScripts = line === "[project.scripts]";
      continue;
    }
    if (!inScripts) continue;
    const m = /^"?([A-Za-z0-9._-]+)"?\s*=\s*["']([^"']+)["']$/.exec(line);
    if (m) out.push([m[1]!, m[2]!]);
  }
  return out;
}

export type PythonEntry =
  | { kind: "file"; file: string }
  | { kind: "script"; script: string; module: string; attr: string }
  | { kind: "module"; module: string; pythonPath?: string };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The Python entry of a folder: server.py, main.py, a [project.scripts] target, or a package with __main__.py. */
export function detectPythonEntry(dir: string): PythonEntry {
  for (const f of ["server.py", "main.py", "src/server.py", "src/main.py"]) {
    if (isFile(join(dir, f))) return { kind: "file", file: join(dir, f) };
  }
  if (isFile(join(dir, "pyproject.toml"))) {
    const scripts = pyprojectScripts(readFileSync(join(dir, "pyproject.toml"), "utf8"));
    const first = scripts[0];
    if (first) {
      const [module, attr = ""] = first[1].split(":").map((s) => s.trim());
      if (module && module.split(".").every((p) => IDENT.test(p)) && IDENT.test(attr)) {
        return { kind: "script", script: first[0], module, attr };
      }
    }
  }
  for (const base of ["", "src"]) {
    for (const d of listFiles(join(dir, base))) {
      if (IDENT.test(d) && isFile(join(dir, base, d, "__main__.py"))) {
        return { kind: "module", module: d, pythonPath: base ? join(dir, base) : undefined };
      }
    }
  }
  throw new Error(
    `no Python entry in ${dir} (looked for server.py, main.py, src/server.py, [project.scripts] in pyproject.toml, a package with __main__.py): add one or use 'command' + 'args'`,
  );
}
