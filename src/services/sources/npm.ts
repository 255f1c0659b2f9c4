import { existsSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseNpmSpec } from "../validate.js";
import { type SourceContext, step } from "./context.js";
import { insideDir, packageBin, type PackageJson } from "./detect.js";
import { findOnPath, readJson, removeOwnedDir, specFolderName } from "./fsutil.js";
import type { PreparedLaunch } from "./path.js";

const MARKER = ".mcp-herd-installed.json";

interface Marker {
  spec: string;
  name: string;
  version?: string;
  bin: string;
}

/** The bin of an installed package, read from its own package.json (never guessed from node_modules/.bin). */
export function resolveInstalledBin(prefix: string, name: string): { bin: string; version?: string } {
  const pkgDir = join(prefix, "node_modules", ...name.split("/"));
  const pkg = readJson(join(pkgDir, "package.json")) as (PackageJson & { version?: string }) | undefined;
  if (!pkg) throw new Error(`npm package '${name}' is not in ${prefix}/node_modules after install`);
  const rel = packageBin(pkg, true);
  if (!rel) {
    const names = pkg.bin && typeof pkg.bin === "object" ? Object.keys(pkg.bin) : [];
    throw new Error(
      names.length
        ? `npm package '${name}' has several bins (${names.join(", ")}) and none is named like the package; use 'command' with node and one of them`
        : `npm package '${name}' declares no bin in its package.json, so there is nothing to run`,
    );
  }
  const bin = insideDir(pkgDir, rel);
  if (!bin || !existsSync(bin)) throw new Error(`npm package '${name}': its bin '${rel}' is missing or outside the package`);
  return { bin, version: pkg.version };
}

function readMarker(dir: string, spec: string): Marker | undefined {
  const m = readJson(join(dir, MARKER)) as Marker | undefined;
  if (!m || m.spec !== spec || typeof m.bin !== "string" || !existsSync(m.bin)) return undefined;
  return m;
}

/** Installs an npm spec into a cache folder of its own (once), then launches its bin with node. */
export async function prepareNpm(ctx: SourceContext, spec: string): Promise<PreparedLaunch> {
  const { name } = parseNpmSpec(spec);
  const root = join(ctx.opts.stateDir, "cache", "npm");
  const dir = join(root, specFolderName(spec));
  let marker = readMarker(dir, spec);
  let how = "cached";
  if (!marker) {
    mkdirSync(root, { recursive: true });
    const tmp = mkdtempSync(join(root, ".tmp-"));
    try {
      writeFileSync(join(tmp, "package.json"), JSON.stringify({ name: "mcp-herd-npm-cache", private: true }) + "\n");
      const scripts = ctx.spec.allow_scripts ? [] : ["--ignore-scripts"];
      await step(ctx, "installing", `npm install of '${spec}'`, findOnPath("npm") ?? "npm", [
        "install",
        ...scripts,
        "--no-audit",
        "--no-fund",
        "--omit=dev",
        "--no-package-lock",
        "--prefix",
        tmp,
        "--",
        spec,
      ], { cwd: tmp });
      const found = resolveInstalledBin(tmp, name);
      const relBin = found.bin.slice(tmp.length);
      marker = { spec, name, version: found.version, bin: join(dir, relBin) };
      writeFileSync(join(tmp, MARKER), JSON.stringify(marker, null, 2) + "\n");
      const raced = readMarker(dir, spec);
      if (raced) {
        marker = raced;
        removeOwnedDir(tmp);
      } else {
        removeOwnedDir(dir);
        renameSync(tmp, dir);
      }
      how = "installed";
    } catch (e) {
      try {
        removeOwnedDir(tmp);
      } catch {
        /* a later install uses a new temp folder */
      }
      throw e;
    }
  }
  const args = [marker.bin, ...(ctx.spec.args ?? [])];
  return {
    launch: { kind: "stdio", command: process.execPath, args, cwd: ctx.spec.cwd, env: { ...(ctx.spec.env ?? {}) } },
    detail: `npm ${marker.name}@${marker.version ?? "?"} (${how} in ${dir}), bin ${marker.bin}`,
  };
}
