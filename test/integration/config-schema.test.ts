import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { printedSchema, SCHEMA_FILE } from "../../scripts/config-schema.js";
import { parseConfigFile } from "../../src/config.js";

interface Node {
  description?: string;
  properties?: Record<string, Node>;
  items?: Node;
  additionalProperties?: Node | boolean;
}

/** Dotted paths of every config key without a description. */
function undescribed(node: Node, path = ""): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(node.properties ?? {})) {
    if (!v.description) out.push(`${path}${k}`);
    out.push(...undescribed(v, `${path}${k}.`));
  }
  if (node.items) out.push(...undescribed(node.items, `${path}[].`));
  if (typeof node.additionalProperties === "object") out.push(...undescribed(node.additionalProperties, `${path}*.`));
  return out;
}

describe("config JSON Schema", () => {
  it("config.schema.json equals --print-config-schema (run `npm run docs` when this fails), and every key has a description", () => {
    const printed = printedSchema();
    expect(readFileSync(SCHEMA_FILE, "utf8")).toBe(printed);
    const schema = JSON.parse(printed) as Node & { title?: string };
    expect(schema.title).toBe("mcp-herd configuration");
    expect(undescribed(schema)).toEqual([]);
  });

  it("the README's example config carries $schema and is a valid config", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Config file"));
    const example = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
    expect(example).toBeDefined();
    const parsed = parseConfigFile(example!, "README example");
    expect(parsed.$schema).toBe("./config.schema.json");
  });
});
