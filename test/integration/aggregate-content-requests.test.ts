import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ListRootsRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, ROOT, startHerd, type Herd } from "../helpers/herd.js";

const FIXTURE = join(ROOT, "test", "fixtures", "run-counter-server.mjs");
const TOKEN = "agg-content-requests-token-0123";

describe("a child's request while it answers prompts/get, resources/read or completion/complete on /mcp goes to the calling session", () => {
  let herd: Herd;
  const rootsClient = async (root: string) => {
    const client = new Client({ name: `roots-${root}`, version: "1" }, { capabilities: { roots: {} } });
    client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: `file:///${root}`, name: root }] }));
    await client.connect(new StreamableHTTPClientTransport(new URL(herd.url!), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    return client;
  };
  beforeAll(async () => {
    herd = await startHerd({ http: true, token: TOKEN });
    const r = (await herd.client.callTool({ name: "service_load", arguments: { name: "rc", command: process.execPath, args: [FIXTURE] } })) as CallToolResult;
    expect((r.structuredContent as { status?: string }).status, allText(r)).toBe("running");
  }, 60_000);
  afterAll(async () => {
    await herd?.close();
  });

  it("each of two sessions gets its own roots back (the README's rule 2: the session whose call is in flight)", async () => {
    const a = await rootsClient("root-a");
    const b = await rootsClient("root-b");
    try {
      const ask = async (c: Client) => {
        const prompt = await c.getPrompt({ name: "rc__roots", arguments: { topic: "x" } });
        const read = await c.readResource({ uri: "fixture://roots" });
        const done = await c.complete({ ref: { type: "ref/prompt", name: "rc__roots" }, argument: { name: "topic", value: "" } });
        return [(prompt.messages[0]!.content as { text: string }).text, (read.contents[0] as { text: string }).text, done.completion.values[0]];
      };
      const ra = ["roots: file:///root-a", "roots: file:///root-a", "file:///root-a"];
      const rb = ["roots: file:///root-b", "roots: file:///root-b", "file:///root-b"];
      expect(await ask(a)).toEqual(ra);
      expect(await ask(b)).toEqual(rb);
      expect(await ask(a)).toEqual(ra);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("a calling session without the roots capability makes the child's request fail with a reason, not hang", async () => {
    // herd.client declared no roots: the child's roots/list is refused, so its prompts/get fails with that message.
    await expect(herd.client.getPrompt({ name: "rc__roots", arguments: { topic: "x" } })).rejects.toThrow(/roots/);
  });
});
