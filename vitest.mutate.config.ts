import { defineConfig } from "vitest/config";

// The tests Stryker runs against mutants (npm run mutate): the ones that import src/ in-process.
// Tests that spawn the built dist/ cannot see a mutant of src/, so they are left out here.
// MUTATE_TESTS (comma-separated globs) narrows them for one module's run, e.g.
// MUTATE_TESTS=test/unit/util/private-file.test.ts npx stryker run --mutate src/util/private-file.ts
const only = process.env.MUTATE_TESTS?.split(",").filter((g) => g !== "");

export default defineConfig({
  test: {
    include: only?.length
      ? only
      : ["test/unit/**/*.test.ts", "test/integration/services-faults.test.ts", "test/integration/services-registry.test.ts"],
    exclude: ["test/unit/requirements.test.ts", "test/unit/readme*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
