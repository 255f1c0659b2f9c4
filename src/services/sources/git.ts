import { lstatSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isCommitHash } from "../validate.js";
import { type SourceContext, step } from "./context.js";
import { findOnPath, readJson, removeOwnedDir } from "./fsutil.js";

const PROTOCOLS = ["https", "http", "ssh", "git", "file"];

/** `-c` options on every git call: no hooks, and only the transports we allow (never ext::, fd::). */
function gitSafetyArgs(): string[] {
  return [
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "protocol.allow=never",
    ...PROTOCOLS.flatMap((p) => ["-c", `protocol.${p}.allow=always`]),
  ];
}

/** What a clone was made from, inside its .git (git ignores it; it goes with the clone). */
const MARKER = join(".git", "mcp-herd-clone.json");

const GIT_ENV = { GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", GIT_PROTOCOL_FROM_USER: "0" };

async function git(ctx: SourceContext, what: string, args: string[], cwd?: string): Promise<void> {
  const bin = findOnPath("git");
  if (!bin) throw new Error(`service '${ctx.name}': git is not on PATH; install git to load 'git' sources`);
  await step(ctx, "cloning", what, bin, [...gitSafetyArgs(), ...args], { cwd, env: GIT_ENV });
}

/** A fresh shallow clone of url at ref into `<stateDir>/services/<name>/src`, swapped in by rename (with `reuseClone`,
 * the clone of the same url and ref another process sharing the folder made, left in place); returns that folder. */
export async function cloneInto(ctx: SourceContext, url: string, ref: string | undefined): Promise<string> {
  const base = join(ctx.opts.stateDir, "services", ctx.name);
  mkdirSync(base, { recursive: true });
  if (lstatSync(base).isSymbolicLink()) {
    throw new Error(`service '${ctx.name}': refusing to clone into ${base}: it is a symbolic link, not a folder mcp-herd created; remove it by hand`);
  }
  const dest = join(base, "src");
  if (ctx.opts.reuseClone && isFolder(dest) && sameClone(readJson(join(dest, MARKER)), url, ref)) return dest;
  const tmp = mkdtempSync(join(base, ".src-tmp-"));
  const label = `git clone of ${url}${ref ? ` at ${ref}` : ""}`;
  try {
    if (ref && isCommitHash(ref)) {
      await git(ctx, `${label} (init)`, ["init", "--quiet", "--", tmp]);
      await git(ctx, `${label} (remote)`, ["remote", "add", "--", "origin", url], tmp);
      await git(ctx, label, ["fetch", "--depth", "1", "--no-tags", "--", "origin", ref], tmp);
      await git(ctx, `${label} (checkout)`, ["checkout", "--quiet", "--detach", "FETCH_HEAD"], tmp);
    } else {
      const branch = ref ? ["--branch", ref] : [];
      await git(ctx, label, ["clone", "--depth", "1", "--quiet", ...branch, "--", url, tmp]);
    }
    writeFileSync(join(tmp, MARKER), JSON.stringify({ url, ref: ref ?? null }) + "\n", { mode: 0o600 });
    removeOwnedDir(dest);
    renameSync(tmp, dest);
    return dest;
  } catch (e) {
    try {
      removeOwnedDir(tmp);
    } catch {
      /* leave it; the next clone uses a new temp folder */
    }
    throw e;
  }
}

function sameClone(made: unknown, url: string, ref: string | undefined): boolean {
  const m = made as { url?: unknown; ref?: unknown } | undefined;
  return !!m && m.url === url && m.ref === (ref ?? null);
}

function isFolder(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
