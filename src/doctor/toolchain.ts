import { findOnPath } from "../services/sources/fsutil.js";
import type { Check } from "./table.js";
import { spawnStarted } from "../util/spawn.js";

const VERSION_BOUND_MS = 5_000;

/** Node, git, npm, uv / python3 and bun: which binary, which version, and what needs it. */
export async function toolchainChecks(env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const major = Number(process.versions.node.split(".")[0]);
  const node: Check =
    major >= 20
      ? { check: "node", status: "OK", detail: `${process.execPath} ${process.version}` }
      : { check: "node", status: "FAIL", detail: `${process.execPath} ${process.version} is older than Node 20`, fix: "install Node 20 or newer" };
  const tools: Array<[string, string[], string]> = [
    ["git", ["git"], "git services (service_load git=...) need git; install it (apt-get install git)"],
    ["npm", ["npm"], "npm services and node folders with dependencies need npm; install Node with npm"],
    ["python", ["uv", "python3"], "python services need uv or python3; install uv (https://docs.astral.sh/uv/) or Python 3"],
    ["bun", ["bun"], "only folders with a bun lockfile (or runtime: bun) need bun; install it from https://bun.sh if you use them"],
  ];
  const rest = await Promise.all(tools.map(([name, bins, fix]) => toolCheck(name, bins, fix, env)));
  return [node, ...rest];
}

async function toolCheck(name: string, bins: string[], fix: string, env: NodeJS.ProcessEnv): Promise<Check> {
  const found = bins.map((b) => [b, findOnPath(b, env.PATH ?? "")] as const).filter(([, p]) => p !== undefined);
  if (found.length === 0) return { check: name, status: "WARN", detail: `${bins.join(" / ")} not found on PATH`, fix };
  const parts = await Promise.all(found.map(async ([, path]) => `${path} ${await versionOf(path!)}`));
  return { check: name, status: "OK", detail: parts.join("; ") };
}

/** First line of `BIN --version`, bounded; "(version unknown)" when it does not answer. */
async function versionOf(path: string): Promise<string> {
  const child = await spawnStarted(path, ["--version"], { stdio: ["ignore", "pipe", "pipe"], timeout: VERSION_BOUND_MS }).catch(() => undefined);
  if (!child) return "(version unknown)";
  return new Promise((resolve) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", () => resolve(out.trim().split("\n")[0]?.trim() || "(version unknown)"));
  });
}
