import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/herd.js";
import { REQUIREMENTS } from "../requirements.js";

describe("requirements manifest", () => {
  it("has unique ids of the form area:topic:detail", () => {
    const ids = REQUIREMENTS.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+:[a-z0-9-]+(:[a-z0-9-]+)*$/);
  });

  it.each(REQUIREMENTS.map((r) => [r.id, r] as const))("%s is verified by a test that exists", (_id, req) => {
    expect(req.tests.length).toBeGreaterThan(0);
    for (const ref of req.tests) {
      const [file, title] = ref.split(" :: ");
      expect(title, ref).toBeTruthy();
      const text = readFileSync(join(ROOT, "test", file!), "utf8");
      expect(text.includes(JSON.stringify(title)) || text.includes(`"${title}"`) || text.includes(`'${title}'`) || text.includes(`\`${title}\``), ref).toBe(true);
    }
  });
});
