// `npm run build`, after tsc has type-checked src/: bundles src/main.ts and everything it imports
// into dist/ (main.js plus the chunks it loads on demand). One bundle loads in about 60% of the
// time the same code takes as ~300 separate modules (module resolution and per-file compile), and
// mcp-herd's start is on the path of every MCP client that spawns it. ssh2 stays a package: it
// has optional native addons, and it is loaded only on first SSH use.
import { readFile } from "node:fs/promises";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

// The SDK's Protocol asks of every inbound message first whether it is a result or an error response:
// two zod parses that fail, and build their issue lists, for every request and notification (about
// 3 µs of a proxied call's ~90 µs of mcp-herd CPU here). Both schemas are strict objects with no
// `method` member, so a message that has one can never pass either; answering that case first gives
// the same answer without the parses. The guard lines are matched exactly: if an SDK release changes
// them, the build stops here rather than ship without (or with a wrong) shortcut.
const GUARDS = [
  ["const isJSONRPCResultResponse = (value) => JSONRPCResultResponseSchema.safeParse(value).success;", "JSONRPCResultResponseSchema"],
  ["const isJSONRPCErrorResponse = (value) => JSONRPCErrorResponseSchema.safeParse(value).success;", "JSONRPCErrorResponseSchema"],
];
const patched = new Set();
const responseGuards = {
  name: "response-guards",
  setup(b) {
    b.onLoad({ filter: /[\\/]@modelcontextprotocol[\\/](server|client)[\\/]dist[\\/][^\\/]+\.mjs$/ }, async (args) => {
      let text = await readFile(args.path, "utf8");
      const pkg = /@modelcontextprotocol[\\/](server|client)/.exec(args.path)[1];
      const found = GUARDS.filter(([line]) => text.includes(line));
      if (found.length === 0) return undefined;
      if (found.length !== GUARDS.length) throw new Error(`${args.path}: only some of the SDK's response guards are where bundle.mjs expects them`);
      for (const [line, schema] of GUARDS) {
        const name = line.slice("const ".length, line.indexOf(" ="));
        text = text.replace(line, `const ${name} = (value) => !(typeof value === "object" && value !== null && "method" in value) && ${schema}.safeParse(value).success;`);
      }
      patched.add(pkg);
      return { contents: text, loader: "js" };
    });
    b.onEnd(() => {
      for (const pkg of ["server", "client"]) if (!patched.has(pkg)) throw new Error(`bundle.mjs: the SDK's response guards were not found in @modelcontextprotocol/${pkg}; see the comment above GUARDS`);
    });
  },
};
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
  plugins: [responseGuards],
});
