import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  CreateMessageRequestSchema,
  CreateTaskResultSchema,
  GetTaskResultSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  type CallToolResult,
  type LoggingMessageNotification,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, cleanEnv, CLI, ROOT, startHerd, waitFor, type Herd } from "../helpers/herd.js";

const EVERYTHING = join(ROOT, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const FILESYSTEM = join(ROOT, "node_modules", "@modelcontextprotocol", "server-filesystem", "dist", "index.js");

const ALL_CAPS = { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } };

/** A client that answers sampling with `reply`, elicitation with a fixed form, and roots with `roots`. */
function featureClient(name: string, reply: (prompt: string) => Promise<string> | string, roots: { uri: string; name: string }[]): Client {
  const client = new Client({ name, version: "1" }, { capabilities: ALL_CAPS });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    const first = req.params.messages[0]?.content;
    const prompt = first && !Array.isArray(first) && first.type === "text" ? first.text : "";
    return { role: "assistant", model: `model-of-${name}`, content: { type: "text", text: await reply(prompt) } };
  });
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { name: `person-of-${name}`, check: true, email: "a@b.example", integer: 7, enums: "value2", interpretation: "programming" } }));
  client.setRequestHandler(ListRootsRequestSchema, () => ({ roots }));
  return client;
}

async function load(client: Client, name: string, args: string[]): Promise<void> {
  const r = (await client.callTool({ name: "service_load", arguments: { name, command: process.execPath, args } })) as CallToolResult;
  expect((r.structuredContent as { status?: string }).status, allText(r)).toBe("running");
}

describe("server-everything over stdio through /mcp: sampling, elicitation, roots and logs reach the client", () => {
  let client: Client;
  let stateDir: string;
  const logs: LoggingMessageNotification["params"][] = [];
  const roots = [{ uri: "file:///tmp/stdio-root", name: "stdio-root" }];
  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "herd-pt-stdio-"));
    client = featureClient("stdio-client", (p) => `sampled: ${p}`, roots);
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: [CLI, "--state-dir", stateDir], env: cleanEnv(), stderr: "pipe" }),
    );
    await load(client, "ev", [EVERYTHING, "stdio"]);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("lists the tools a child hides from clients without sampling, elicitation and roots", async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["ev__trigger-sampling-request", "ev__trigger-elicitation-request", "ev__get-roots-list"]));
  });

  it("a sampling request of the child is answered by this client", async () => {
    const r = (await client.callTool({ name: "ev__trigger-sampling-request", arguments: { prompt: "hello there" } })) as CallToolResult;
    expect(r.isError, allText(r)).toBeFalsy();
    expect(allText(r)).toContain("sampled: Resource trigger-sampling-request context: hello there");
    expect(allText(r)).toContain("model-of-stdio-client");
  });

  it("an elicitation request of the child is answered by this client", async () => {
    const r = (await client.callTool({ name: "ev__trigger-elicitation-request", arguments: {} })) as CallToolResult;
    expect(r.isError, allText(r)).toBeFalsy();
    expect(allText(r)).toContain("person-of-stdio-client");
  });

  it("the child's roots/list is answered with this client's roots", async () => {
    const r = (await client.callTool({ name: "ev__get-roots-list", arguments: {} })) as CallToolResult;
    expect(allText(r)).toContain("file:///tmp/stdio-root");
  });

  it("a tool that requires tasks runs as a task through /mcp; its elicitation reaches this client during tasks/result", async () => {
    const tools = (await client.listTools()).tools;
    expect(tools.find((t) => t.name === "ev__simulate-research-query")?.execution).toEqual({ taskSupport: "required" });
    const created = await client.request(
      { method: "tools/call", params: { name: "ev__simulate-research-query", arguments: { topic: "python", ambiguous: true }, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );
    const taskId = created.task.taskId;
    let status = created.task.status;
    const end = Date.now() + 30_000;
    while (status === "working" && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await client.request({ method: "tasks/get", params: { taskId } }, GetTaskResultSchema)).status;
    }
    expect(["input_required", "completed"]).toContain(status);
    const result = await client.request({ method: "tasks/result", params: { taskId } }, CallToolResultSchema, { timeout: 30_000 });
    expect(allText(result as CallToolResult)).toContain("python (programming)");
    await expect(client.request({ method: "tasks/get", params: { taskId: "no-such-task" } }, GetTaskResultSchema)).rejects.toThrow(/unknown task 'no-such-task'/);
  }, 60_000);

  it("the client's roots/list_changed reaches the child it uses", async () => {
    roots.splice(0, roots.length, { uri: "file:///tmp/changed-root", name: "changed" });
    await client.sendRootsListChanged();
    const ok = await waitFor(async () => allText((await client.callTool({ name: "ev__get-roots-list", arguments: {} })) as CallToolResult).includes("file:///tmp/changed-root"), 10_000, 100);
    expect(ok).toBe(true);
  });

  it("the child's log messages reach the client under the service's name, and service_logs", async () => {
    await client.setLoggingLevel("debug");
    await client.callTool({ name: "ev__toggle-simulated-logging", arguments: {} });
    // The child's simulated messages carry no logger: on /mcp the logger is the service's name.
    expect(await waitFor(() => logs.some((l) => l.logger === "ev" && /level message|level-message/i.test(String(l.data))), 20_000), JSON.stringify(logs)).toBe(true);
    await client.callTool({ name: "ev__toggle-simulated-logging", arguments: {} });
    const r = (await client.callTool({ name: "service_logs", arguments: { name: "ev" } })) as CallToolResult;
    expect(allText(r)).toMatch(/\[mcp\] \[(debug|info|notice|warning|error|critical|alert|emergency)\] \w+.level.message/i);
  }, 30_000);
});

describe("two HTTP sessions calling one child at once", () => {
  let herd: Herd;
  beforeAll(async () => {
    herd = await startHerd({ http: true, token: "pt-token-1234567890abcdef" });
    await load(herd.client, "ev", [EVERYTHING, "stdio"]);
  }, 60_000);
  afterAll(async () => {
    await herd?.close();
  });

  const connect = async (client: Client) => {
    await client.connect(new StreamableHTTPClientTransport(new URL(herd.url!), { requestInit: { headers: { Authorization: `Bearer ${herd.token}` } } }));
    return client;
  };

  it("each sampling request reaches the session whose call caused it, while both calls are in flight", async () => {
    const seen = { a: [] as string[], b: [] as string[] };
    let releaseA!: () => void;
    const aMayAnswer = new Promise<void>((r) => (releaseA = r));
    let aAsked!: () => void;
    const aWasAsked = new Promise<void>((r) => (aAsked = r));
    const a = await connect(
      featureClient("a", async (p) => {
        seen.a.push(p);
        aAsked();
        // A's call stays in flight until B's sampling request has been answered.
        await Promise.race([aMayAnswer, new Promise((r) => setTimeout(r, 20_000))]);
        return "answer from a";
      }, []),
    );
    const b = await connect(
      featureClient("b", (p) => {
        seen.b.push(p);
        return "answer from b";
      }, []),
    );
    try {
      const callA = a.callTool({ name: "ev__trigger-sampling-request", arguments: { prompt: "asked by a" } });
      await aWasAsked;
      const rb = (await b.callTool({ name: "ev__trigger-sampling-request", arguments: { prompt: "asked by b" } })) as CallToolResult;
      releaseA();
      const ra = (await callA) as CallToolResult;
      expect(allText(ra)).toContain("answer from a");
      expect(allText(rb)).toContain("answer from b");
      expect(seen.a).toEqual(["Resource trigger-sampling-request context: asked by a"]);
      expect(seen.b).toEqual(["Resource trigger-sampling-request context: asked by b"]);
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it("on the per-service endpoint, the stdio child's sampling and roots requests reach that endpoint's client", async () => {
    const c = featureClient("endpoint-client", (p) => `endpoint sampled: ${p}`, [{ uri: "file:///tmp/endpoint-root", name: "e" }]);
    await c.connect(new StreamableHTTPClientTransport(new URL(`${herd.base}/services/ev/mcp`), { requestInit: { headers: { Authorization: `Bearer ${herd.token}` } } }));
    try {
      const r = (await c.callTool({ name: "trigger-sampling-request", arguments: { prompt: "via endpoint" } })) as CallToolResult;
      expect(allText(r)).toContain("endpoint sampled: Resource trigger-sampling-request context: via endpoint");
      // The child is told the roots changed when this session first uses it; it asks for them in the background.
      let text = "";
      const ok = await waitFor(async () => {
        text = allText((await c.callTool({ name: "get-roots-list", arguments: {} })) as CallToolResult);
        return text.includes("file:///tmp/endpoint-root");
      }, 10_000, 100);
      expect(ok, text).toBe(true);
    } finally {
      await c.close();
    }
  }, 30_000);

  it("a client without sampling: the child gets a clear JSON-RPC error, the call completes, the server keeps serving", async () => {
    const started = Date.now();
    const r = (await herd.client.callTool({ name: "ev__trigger-sampling-request", arguments: { prompt: "nobody to ask" } })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(allText(r)).toMatch(/mcp-herd: the client session calling service 'ev' does not support sampling/);
    expect(allText(r)).not.toMatch(/MCP error -?\d+: MCP error/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const echo = (await herd.client.callTool({ name: "ev__echo", arguments: { message: "still here" } })) as CallToolResult;
    expect(allText(echo)).toContain("still here");
  }, 30_000);
});

describe("server-filesystem started without a folder gets its folders from our client's roots", () => {
  let herd: Herd;
  let dir: string;
  beforeAll(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), "herd-pt-roots-")));
    writeFileSync(join(dir, "hello.txt"), "hello from a root\n");
    herd = await startHerd({ http: true, token: "pt-token-1234567890abcdef" });
  }, 30_000);
  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists the root as an allowed folder and reads a file in it, through mcp-herd", async () => {
    const client = featureClient("fs-client", () => "", [{ uri: pathToFileURL(dir).href, name: "work" }]);
    await client.connect(new StreamableHTTPClientTransport(new URL(herd.url!), { requestInit: { headers: { Authorization: `Bearer ${herd.token}` } } }));
    try {
      await load(client, "fs", [FILESYSTEM]);
      let text = "";
      const ok = await waitFor(async () => {
        const r = (await client.callTool({ name: "fs__list_allowed_directories", arguments: {} })) as CallToolResult;
        text = allText(r);
        return text.includes(dir);
      }, 20_000, 200);
      expect(ok, text).toBe(true);
      const read = (await client.callTool({ name: "fs__read_text_file", arguments: { path: join(dir, "hello.txt") } })) as CallToolResult;
      expect(allText(read)).toContain("hello from a root");
    } finally {
      await client.close();
    }
  }, 60_000);
});
