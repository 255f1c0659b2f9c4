// Node 20 lacks fs.globSync (22+), which the conformance suite calls: re-export node:fs plus a small one.
import fs from "node:fs";
import path from "node:path";
export * from "node:fs";
export default fs;

/** Enough of globSync for the `**\/<name>` patterns the suite uses. */
export function globSync(pattern, opts = {}) {
  const cwd = opts.cwd ?? process.cwd();
  const name = pattern.replace(/^\*\*\//, "");
  const found = [];
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(cwd, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, e.name) : e.name;
      if (e.isDirectory()) {
        if (e.name !== "node_modules" && e.name !== ".git") walk(r);
      } else if (e.name === name) found.push(r);
    }
  };
  walk("");
  return found;
}
