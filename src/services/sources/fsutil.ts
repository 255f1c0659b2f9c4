import { createHash } from "node:crypto";
import { accessSync, constants, lstatSync, readFileSync, rmSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { withoutOwnSecrets } from "../../backends/child/env.js";

/** Finds an executable on PATH without a shell (`which`), or undefined. */
export function findOnPath(command: string, pathVar = process.env.PATH ?? ""): string | undefined {
  for (const dir of pathVar.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Removes a folder we own; refuses a symlink (never follows one) and anything that is not a folder. */
export function removeOwnedDir(dir: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  if (st.isSymbolicLink()) throw new Error(`refusing to delete ${dir}: it is a symbolic link, not a folder mcp-herd created; remove it by hand`);
  if (!st.isDirectory()) throw new Error(`refusing to delete ${dir}: it is not a folder; remove it by hand`);
  rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
}

/** A short stable folder name for a spec: readable prefix plus a hash, no path characters. */
export function specFolderName(spec: string): string {
  const readable = spec.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[-.]+/, "").slice(0, 40);
  const hash = createHash("sha256").update(spec).digest("hex").slice(0, 16);
  return `${readable || "spec"}-${hash}`;
}

/** Hash of the files that decide what an install produces (missing files count as empty). */
export function hashFiles(dir: string, names: string[]): string {
  const h = createHash("sha256");
  for (const n of names) {
    h.update(n + "\0");
    try {
      h.update(readFileSync(join(dir, n)));
    } catch {
      h.update("<none>");
    }
    h.update("\0");
  }
  return h.digest("hex");
}

/** Reads and parses a JSON file, or undefined when it is missing or not JSON. */
export function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** Environment for installers: ours minus mcp-herd's secrets, with prompts and update checks off. */
export function installerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...withoutOwnSecrets(process.env), ...extra };
  env.npm_config_update_notifier = "false";
  env.npm_config_fund = "false";
  env.npm_config_audit = "false";
  env.npm_config_yes = "true";
  env.PIP_DISABLE_PIP_VERSION_CHECK = "1";
  env.PIP_NO_INPUT = "1";
  env.GIT_TERMINAL_PROMPT = "0";
  return env;
}
