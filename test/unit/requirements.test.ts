import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/herd.js";
import { REQUIREMENTS } from "../requirements.js";

/** A test call as the runner sees it: its title literal and whether it (or a describe around it) is skipped. */
interface FoundTest {
  title: string;
  runs: boolean;
}

// Modifiers that keep a test or a suite from running, or make it run only sometimes.
const NOT_RUN = new Set(["skip", "todo", "skipIf", "runIf", "fails"]);

/** The runner and the modifiers of a call's callee: it.each(...)("t") -> ["it", "each"]; describe.skip("s") -> ["describe", "skip"]. */
function calleeChain(expr: ts.Expression): string[] {
  if (ts.isIdentifier(expr)) return [expr.text];
  if (ts.isPropertyAccessExpression(expr)) return [...calleeChain(expr.expression), expr.name.text];
  if (ts.isCallExpression(expr)) return calleeChain(expr.expression);
  return [];
}

/** Every it()/test() of a file, parsed (comments, strings elsewhere and describe titles never count). */
function testsOf(file: string): FoundTest[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: FoundTest[] = [];
  const visit = (node: ts.Node, suiteRuns: boolean): void => {
    let runs = suiteRuns;
    if (ts.isCallExpression(node)) {
      const chain = calleeChain(node.expression);
      const first = node.arguments[0];
      const title = first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first)) ? first.text : undefined;
      const skipped = chain.slice(1).some((m) => NOT_RUN.has(m));
      if ((chain[0] === "it" || chain[0] === "test") && title !== undefined) found.push({ title, runs: suiteRuns && !skipped });
      if (chain[0] === "describe" && skipped) runs = false;
    }
    ts.forEachChild(node, (child) => visit(child, runs));
  };
  visit(source, true);
  return found;
}

describe("requirements manifest", () => {
  it("has unique ids of the form area:topic:detail", () => {
    const ids = REQUIREMENTS.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+:[a-z0-9-]+(:[a-z0-9-]+)*$/);
  });

  const parsed = new Map<string, FoundTest[]>();
  it.each(REQUIREMENTS.map((r) => [r.id, r] as const))("%s is verified by a test that exists", (_id, req) => {
    expect(req.tests.length).toBeGreaterThan(0);
    for (const ref of req.tests) {
      const [file, title, extra] = ref.split(" :: ");
      expect(title && extra === undefined, `${ref}: expected "file :: title"`).toBe(true);
      const path = join(ROOT, "test", file!);
      if (!parsed.has(path)) parsed.set(path, testsOf(path));
      const matches = parsed.get(path)!.filter((t) => t.title === title);
      expect(matches.length, `${ref}: ${matches.length} tests have this title (exactly one must)`).toBe(1);
      expect(matches[0]!.runs, `${ref}: the test is skipped or conditional`).toBe(true);
    }
  });

  it("resolves a citation only to a test that runs, never to a comment, a describe or a skipped test", () => {
    const probe = join(ROOT, "test", "unit", "requirements.test.ts");
    const here = testsOf(probe).map((t) => t.title);
    expect(here).toContain("has unique ids of the form area:topic:detail");
    expect(here).not.toContain("requirements manifest");
    // A scratch file of every decoy: only the one real, running test resolves.
    const dir = mkdtempSync(join(tmpdir(), "herd-req-"));
    try {
      const f = join(dir, "decoy.test.ts");
      writeFileSync(
        f,
        [
          '// it("t", () => {})',
          'const s = "t";',
          'describe("t", () => {',
          '  it.skip("t", () => {});',
          '  it.todo("t");',
          '  it.skipIf(true)("t", () => {});',
          '  it("t", () => {});',
          "});",
          'describe.skip("off", () => { it("u", () => {}); });',
          'it.each([1])("v %s", () => {});',
        ].join("\n"),
      );
      const tests = testsOf(f);
      expect(tests.filter((t) => t.title === "t")).toEqual([
        { title: "t", runs: false },
        { title: "t", runs: false },
        { title: "t", runs: false },
        { title: "t", runs: true },
      ]);
      expect(tests.find((t) => t.title === "u")).toEqual({ title: "u", runs: false });
      expect(tests.find((t) => t.title === "v %s")).toEqual({ title: "v %s", runs: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
