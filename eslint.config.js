import tseslint from "typescript-eslint";

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
            { group: ["@modelcontextprotocol/sdk", "@modelcontextprotocol/sdk/*"], message: "tools/ uses defineTool; the SDK stays in server.ts, transports/, backends/." },
            { group: ["node:child_process", "child_process", "node:net", "ssh2"], message: "tools/ never spawns or connects: call a registry, router or backend." },
          ],
        },
      ],
    },
  },
  {
    // Transports know nothing of tools.
    files: ["src/transports/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["../tools/*", "../hosts/*", "../services/*"], message: "transports/ know nothing of tools." }] }],
    },
  },
);
