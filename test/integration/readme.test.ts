import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { README, listServerTools, renderToolTable, withSecurity, withTable } from "../../scripts/readme-tools.js";

describe("README tool table", () => {
  it("lists every tool the server serves (run `npm run docs` when this fails)", async () => {
    const { all, peerOnly } = await listServerTools();
    expect(all.length).toBeGreaterThan(5);
    const readme = readFileSync(README, "utf8");
    expect(withTable(readme, renderToolTable(all, peerOnly))).toBe(readme);
  });

  it("lists every promise of test/requirements.ts in the Security section (run `npm run docs` when this fails)", () => {
    const readme = readFileSync(README, "utf8");
    expect(readme).toContain("<!-- security:begin -->\n");
    expect(withSecurity(readme)).toBe(readme);
  });
});
