import { lstatSync, mkdirSync, mkdtempSync, renameSync } from "node:fs";
import { join } from "node:path";
import { isCommitHash } from "../validate.js";
import { type SourceContext, step } from "./context.js";
import { findOnPath, removeOwnedDir } from "./fsutil.js";

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

const GIT_ENV = { GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1", GIT_PROTOCOL_FROM_USER: "0" };

async function git(ctx: SourceContext, what: string, args: string[], cwd?: string): Promise<void> {
  const bin = findOnPath("git");
  if (!bin) throw new Error(`service '${ctx.name}': git is not on PATH; install git to load 'git' sources`);
  await step(ctx, "cloning", what, bin, [...gitSafetyArgs(), ...args], { cwd, env: GIT_ENV });
}

/** A fresh shallow clone of url at ref into `<stateDir>/services/<name>/src`, swapped in by rename; returns that folder. */
export async function cloneInto(ctx: SourceContext, url: string, ref: string | undefined): Promise<string> {
  const base = join(ctx.opts.stateDir, "services", ctx.name);
  mkdirSync(base, { recursive: true });
  if (lstatSync(base).isSymbolicLink()) {
    throw new Error(`service '${ctx.name}': refusing to clone into ${base}: it is a symbolic link, not a folder mcp-herd created; remove it by hand`);
  }
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
    const dest = join(base, "src");
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
