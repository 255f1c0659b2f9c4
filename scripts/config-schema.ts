/**
 * Writes config.schema.json from the built server's `--print-config-schema` (`npm run docs`), so the
 * schema editors use (`"$schema"` in a config file) cannot drift; test/integration/config-schema.test.ts
 * fails when the committed file is stale.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const SCHEMA_FILE = join(ROOT, "config.schema.json");

/** What `mcp-herd --print-config-schema` prints, from dist/. */
export function printedSchema(): string {
  const r = spawnSync(process.execPath, [join(ROOT, "dist", "main.js"), "--print-config-schema"], { encoding: "utf8", timeout: 20_000 });
  if (r.status !== 0) throw new Error(`mcp-herd --print-config-schema failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_FILE, printedSchema());
  process.stdout.write(`config.schema.json written\n`);
}
