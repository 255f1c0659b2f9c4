import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/herd.js";

describe("the code passes its own lint rules", () => {
  it("src/, test/, bench/ and scripts/ have no lint errors (npm run lint)", async () => {
    const eslint = new ESLint({ cwd: ROOT });
    const results = await eslint.lintFiles(["src", "test", "bench", "scripts"]);
    const errors = results.flatMap((r) =>
      r.messages.filter((m) => m.severity === 2).map((m) => `${r.filePath.slice(ROOT.length)}:${m.line} ${m.ruleId ?? ""} ${m.message}`),
    );
    expect(errors).toEqual([]);
  }, 120_000);
});
