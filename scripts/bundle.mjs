// `npm run build`, after tsc has type-checked src/: bundles src/main.ts and everything it imports
// into dist/ (main.js plus the chunks it loads on demand). One bundle loads in about 60% of the
// time the same code takes as ~300 separate modules (module resolution and per-file compile), and
// mcp-herd's start is on the path of every MCP client that spawns it. ssh2 stays a package: it
// has optional native addons, and it is loaded only on first SSH use.
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
rmSync(`${root}/dist`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ["src/main.ts"],
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // Chunks sit beside main.js: version.ts finds package.json at ../ from any of them.
  chunkNames: "[name]-[hash]",
  external: ["ssh2"],
  sourcemap: "linked",
  // Bundled CommonJS packages (ajv, cross-spawn, ...) call require() for Node's own modules.
  banner: { js: "import { createRequire as __herdRequire } from 'node:module'; const require = __herdRequire(import.meta.url);" },
  logLevel: "warning",
});
