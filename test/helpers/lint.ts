import { ESLint } from "eslint";
import { ROOT } from "./herd.js";

// Why: lint probes check snippets against the repo's config; type-aware parsing needs a file in the project, so snippets are parsed without types.
export const snippetLint = new ESLint({
  cwd: ROOT,
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false, project: null } },
    rules: { "@typescript-eslint/no-floating-promises": "off" },
  },
});
