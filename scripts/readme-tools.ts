/**
 * Writes the README's tool table from the tools the built server actually lists, and its list of
 * promises from test/requirements.ts (`npm run docs`), so the docs cannot drift;
 * test/integration/readme.test.ts fails when the README is stale.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { REQUIREMENTS, type Requirement } from "../test/requirements.js";

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
      // The shell's own mcp-herd settings (a short MCP_HERD_TOKEN, LMCP_HUB_BACKENDS) must not change the list.
      env: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !/^(MCP_HERD_|LMCP_HUB_)/.test(e[0]))),
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

const SECURITY_BEGIN = "<!-- security:begin -->";
const SECURITY_END = "<!-- security:end -->";
const AREAS: Record<string, string> = {
  sec: "Security",
  proto: "Protocol",
  rel: "Reliability",
  sup: "Supervisor",
  fleet: "Fleet",
  ops: "Operations",
};

/** One line per promise, grouped by area (the id's first part), each with its id, source and how many tests prove it. */
export function renderSecurity(reqs: Requirement[] = REQUIREMENTS): string {
  const groups = new Map<string, Requirement[]>();
  for (const r of reqs) {
    const area = r.id.split(":")[0]!;
    groups.set(area, [...(groups.get(area) ?? []), r]);
  }
  const order = [...Object.keys(AREAS), ...[...groups.keys()].filter((a) => !(a in AREAS))].filter((a) => groups.has(a));
  const oneLine = (s: string) => s.replace(/\s+/g, " ").trim();
  const lines = [
    `${reqs.length} promises, each proved by the tests named for it in \`test/requirements.ts\` (a test fails when one has none).`,
  ];
  for (const area of order) {
    lines.push("", `**${AREAS[area] ?? area}**`, "");
    for (const r of groups.get(area)!) {
      const n = r.tests.length;
      lines.push(`- \`${r.id}\` ${oneLine(r.promise)} _(${oneLine(r.source)}; ${n} test${n === 1 ? "" : "s"})_`);
    }
  }
  return lines.join("\n");
}

/** The README with the block between two markers replaced. */
export function withBlock(readme: string, begin: string, end: string, body: string): string {
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${begin} ... ${end} markers`);
  return readme.slice(0, a + begin.length) + "\n" + body + "\n" + readme.slice(b);
}

/** The README with its security block regenerated from the requirements manifest. */
export function withSecurity(readme: string, reqs: Requirement[] = REQUIREMENTS): string {
  return withBlock(readme, SECURITY_BEGIN, SECURITY_END, renderSecurity(reqs));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { all, peerOnly } = await listServerTools();
  writeFileSync(README, withSecurity(withTable(readFileSync(README, "utf8"), renderToolTable(all, peerOnly))));
  process.stdout.write(`README.md: ${all.length} tools, ${REQUIREMENTS.length} promises\n`);
}
