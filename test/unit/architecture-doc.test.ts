import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/herd.js";

const doc = readFileSync(join(ROOT, "ARCHITECTURE.md"), "utf8");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

function srcFolders(dir = join(ROOT, "src"), prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => [`${prefix}${e.name}/`, ...srcFolders(join(dir, e.name), `${prefix}${e.name}/`)]);
}

// The folder list: the `name/` entries of the "What each folder owns" section (paths under src/).
function namedFolders(): string[] {
  const section = doc.split(/^## /m).find((s) => s.startsWith("What each folder owns"));
  expect(section, "ARCHITECTURE.md has a 'What each folder owns' section").toBeDefined();
  return [...section!.matchAll(/^- `([a-z][\w/-]*\/)`/gm)].map((m) => m[1]!);
}

describe("ARCHITECTURE.md stays true to src/", () => {
  it("every folder it names exists under src/", () => {
    const named = namedFolders();
    expect(named.length).toBeGreaterThan(0);
    for (const f of named) expect(statSync(join(ROOT, "src", f), { throwIfNoEntry: false })?.isDirectory(), f).toBe(true);
  });

  it("every folder of src/ is named", () => {
    expect(srcFolders().filter((f) => !namedFolders().includes(f))).toEqual([]);
  });

  it("the README links it", () => {
    expect(readme).toContain("](ARCHITECTURE.md)");
  });
});
