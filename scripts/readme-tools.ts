/**
 * Writes the README's tool table from the tools the built server actually lists (`npm run docs`),
 * so the docs cannot drift; test/integration/readme.test.ts fails when the README is stale.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const README = join(ROOT, "README.md");
const BEGIN = "<!-- tools:begin -->";
const END = "<!-- tools:end -->";

interface ListedTool {
  name: string;
  description?: string;
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean };
}

/** The tools of a fresh server in peer mode (so the host tool set is listed too), no services loaded. */
export async function listServerTools(): Promise<{ all: ListedTool[]; peerOnly: Set<string> }> {
  const list = async (extra: string[]) => {
    const state = mkdtempSync(join(tmpdir(), "herd-docs-"));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, "dist", "main.js"), "--state-dir", state, "--log-level", "error", ...extra],
      env: { ...(process.env as Record<string, string>), LMCP_HUB_BACKENDS: "" },
      stderr: "ignore",
    });
    const client = new Client({ name: "docs", version: "0" });
    try {
      await client.connect(transport);
      return (await client.listTools()).tools as ListedTool[];
    } finally {
      await client.close();
      rmSync(state, { recursive: true, force: true });
    }
  };
  const plain = await list([]);
  const peer = await list(["--peer"]);
  const names = new Set(plain.map((t) => t.name));
  return { all: peer, peerOnly: new Set(peer.filter((t) => !names.has(t.name)).map((t) => t.name)) };
}

const firstSentence = (s = "") => {
  const m = /^(.+?[.!?])(\s|$)/s.exec(s.trim());
  return (m ? m[1]! : s.trim()).replace(/\s+/g, " ").replace(/\|/g, "\\|");
};

/** The markdown table: tool, what it does, and whether it changes anything. */
export function renderToolTable(all: ListedTool[], peerOnly: Set<string>): string {
  const kind = (t: ListedTool) =>
    t.annotations?.readOnlyHint ? "read-only" : t.annotations?.destructiveHint ? "changes things" : "adds";
  const rows = all
    .filter((t) => !peerOnly.has(t.name))
    .map((t) => `| \`${t.name}\` | ${firstSentence(t.description)} | ${kind(t)} |`);
  rows.push("| `<service>__<tool>` | every tool of a running service, with the service's own schema (off with `--no-proxy-tools`) | as the service says |");
  const peer = all
    .filter((t) => peerOnly.has(t.name))
    .map((t) => `| \`${t.name}\` | ${firstSentence(t.description)} | ${kind(t)} |`);
  return [
    "| tool | what it does | effect |",
    "|---|---|---|",
    ...rows,
    "",
    "With `--peer`, this machine's host tool set is served too, under the plain names another mcp-herd or an lmcp hub calls:",
    "",
    "| tool | what it does | effect |",
    "|---|---|---|",
    ...peer,
  ].join("\n");
}

/** The README with its tool block replaced. */
export function withTable(readme: string, table: string): string {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${BEGIN} ... ${END} markers`);
  return readme.slice(0, a + BEGIN.length) + "\n" + table + "\n" + readme.slice(b);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { all, peerOnly } = await listServerTools();
  writeFileSync(README, withTable(readFileSync(README, "utf8"), renderToolTable(all, peerOnly)));
  process.stdout.write(`README.md: ${all.length} tools\n`);
}
