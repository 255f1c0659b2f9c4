import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/herd.js";
import { snippetLint as lint } from "../helpers/lint.js";

// The typed rule (no-floating-promises) is checked by its config below.
async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [r] = await lint.lintText(code, { filePath });
  return r!.messages.map((m) => m.ruleId ?? m.message);
}

describe("lint rules make the easy mistakes impossible", () => {
  it.each([
    ["console.log in src/", 'console.log("x");\n', "no-console"],
    ["exec from node:child_process", 'import { exec } from "node:child_process";\nexec("ls");\n', "no-restricted-imports"],
    ["execSync from child_process", 'import { execSync } from "child_process";\nexecSync("ls");\n', "no-restricted-imports"],
    ["shell: true", 'import { spawn } from "node:child_process";\nspawn("ls", [], { shell: true });\n', "no-restricted-syntax"],
  ])("refuses %s", async (_what, code, rule) => {
    expect(await ruleIds(code, `${ROOT}src/lint-probe.ts`)).toContain(rule);
  });

  it("allows spawn with an argument array in src/, and console in tests", async () => {
    expect(await ruleIds('import { spawn } from "node:child_process";\nspawn("ls", ["-l"]);\n', `${ROOT}src/lint-probe.ts`)).toEqual([]);
    expect(await ruleIds('console.log("x");\n', `${ROOT}test/unit/lint-probe.ts`)).toEqual([]);
  });

  it("has no-floating-promises on for src and test", async () => {
    const real = new ESLint({ cwd: ROOT });
    for (const file of ["src/server.ts", "test/helpers/herd.ts"]) {
      const config = (await real.calculateConfigForFile(`${ROOT}${file}`)) as { rules: Record<string, unknown[]> };
      expect(config.rules["@typescript-eslint/no-floating-promises"]?.[0], file).toBe(2);
    }
  });
});
