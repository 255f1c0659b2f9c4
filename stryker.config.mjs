// Mutation testing of the modules where a surviving bug is a breach or a leak (npm run mutate).
// Not part of npm test: it runs the in-process tests once per mutant and takes minutes.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.ts" },
  coverageAnalysis: "perTest",
  mutate: [
    "src/transports/guard.ts",
    "src/services/validate.ts",
    "src/backends/ssh/knownhosts.ts",
    "src/backends/ssh/hostcert.ts",
    "src/services/restart-policy.ts",
    "src/backends/child/kill.ts",
    "src/backends/child/tree.ts",
    "src/backends/child/reaper.ts",
    "src/util/private-file.ts",
  ],
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  concurrency: 2,
  timeoutMS: 30_000,
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  thresholds: { high: 90, low: 80, break: null },
};
