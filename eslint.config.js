import tseslint from "typescript-eslint";

// The layers, top to bottom (ARCHITECTURE.md): entry (main, cli, app) -> transports/ -> server -> tools/ ->
// services/ | hosts/ -> backends/ -> base (config, log, events, audit, version, util/). An import never runs up.
// Each folder's forbidden imports are written once here; the message names the rule it breaks.
const up = {
  entry: ["**/main.js", "**/cli.js", "**/doctor/**"],
  app: ["**/app.js"],
  transports: ["**/transports/**"],
  server: ["**/server.js", "**/server-passthrough.js", "**/resources.js"],
  tools: ["**/tools/**"],
  services: ["**/services/**"],
  hosts: ["**/hosts/**"],
  backends: ["**/backends/**"],
};
const layer = (files, rule, groups, extra = []) => ({
  files,
  rules: {
    "@typescript-eslint/no-restricted-imports": [
      "error",
      { patterns: [{ group: groups.flat(), message: `layers: ${rule} (ARCHITECTURE.md)` }, ...extra] },
    ],
  },
});

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "test/fixtures/**", "test/conformance/**"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["src/**/*.ts"],
    rules: {
      // stdout is the MCP protocol in stdio mode: log through the Logger (stderr).
      "no-console": "error",
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "child_process", importNames: ["exec", "execSync"], message: "Use spawn with an argument array." },
            { name: "node:child_process", importNames: ["exec", "execSync"], message: "Use spawn with an argument array." },
          ],
          patterns: [
            {
              group: ["@modelcontextprotocol/sdk", "@modelcontextprotocol/sdk/*"],
              message: "src/ runs on the v2 packages (@modelcontextprotocol/server, client, node); the 1.x SDK is a test-only legacy client.",
            },
          ],
        },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "Property[key.name='shell'][value.value=true]", message: "No shell: true; pass an argument array." },
      ],
    },
  },
  {
    // Tools never spawn or connect, and never import the SDK (DESIGN.md: the SDK stays behind server.ts, transports/, backends/).
    files: ["src/tools/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["@modelcontextprotocol/*"], message: "tools/ uses defineTool; the SDK stays in server.ts, transports/, backends/." },
            { group: ["node:child_process", "child_process", "node:net", "ssh2"], message: "tools/ never spawns or connects: call a registry, router or backend." },
          ],
        },
      ],
    },
  },
  layer(
    ["src/log.ts", "src/events.ts", "src/audit.ts", "src/version.ts", "src/config*.ts", "src/util/**/*.ts"],
    "the base (config, log, events, audit, version, util/) imports nothing above it",
    [up.entry, up.app, up.transports, up.server, up.tools, up.services, up.hosts, up.backends],
  ),
  layer(
    ["src/backends/**/*.ts"],
    "backends/ import only backends/ and the base, never the hub, the supervisor, tools or transports",
    [up.entry, up.app, up.transports, up.server, up.tools, up.services, up.hosts],
  ),
  layer(
    ["src/hosts/**/*.ts"],
    "hosts/ (the hub) import backends/ and the base, never services/, tools, server or transports",
    [up.entry, up.app, up.transports, up.server, up.tools, up.services],
  ),
  // services/host-peer.ts names the hub's type (HostHub) to reach a host's peer: types only, sideways.
  layer(
    ["src/services/**/*.ts"],
    "services/ (the supervisor) import backends/ and the base, never tools, server or transports",
    [up.entry, up.app, up.transports, up.server, up.tools],
    [{ group: up.hosts, allowTypeImports: true, message: "layers: services/ may name hosts/ types only (ARCHITECTURE.md)" }],
  ),
  // tools/ get the App type and the Backend seam's result helpers (backends/backend.ts); other backends: types only.
  layer(
    ["src/tools/**/*.ts"],
    "tools/ call services/ and hosts/; they never import server, transports or the entry",
    [up.entry, up.transports, up.server],
    [
      { group: up.app, allowTypeImports: true, message: "layers: tools/ take the App type only; the wiring is above them (ARCHITECTURE.md)" },
      {
        group: [...up.backends, "!**/backends/backend.js"],
        allowTypeImports: true,
        message: "layers: tools/ never build backends; only the Backend seam (backends/backend.ts) and backend types (ARCHITECTURE.md)",
      },
    ],
  ),
  layer(
    ["src/transports/**/*.ts"],
    "transports/ know nothing of tools, services or hosts; they serve what server.ts builds",
    [up.entry, up.tools, up.services, up.hosts],
    [{ group: up.app, allowTypeImports: true, message: "layers: transports/ take the App type only (ARCHITECTURE.md)" }],
  ),
  layer(
    ["src/server.ts", "src/server-passthrough.ts", "src/resources.ts"],
    "server.ts builds the MCP server from tools, services and hosts; it never imports transports or the entry",
    [up.entry, up.transports],
    [{ group: up.app, allowTypeImports: true, message: "layers: server takes the App type only (ARCHITECTURE.md)" }],
  ),
  layer(
    ["src/doctor/**/*.ts"],
    "doctor/ checks config, backends, hosts and services; it never imports tools, server, transports or the entry",
    [["**/main.js", "**/cli.js"], up.app, up.transports, up.server, up.tools],
  ),
  layer(["src/app.ts"], "the app wiring builds the registries; transports and the entry are above it", [up.entry, up.transports]),
);
