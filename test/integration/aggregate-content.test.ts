import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError, ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, ROOT, startHerd, waitFor, type Herd } from "../helpers/herd.js";

const EVERYTHING = join(ROOT, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js");
const CONTENT = join(ROOT, "test", "fixtures", "content-server.mjs");
const CLASH_URI = "demo://resource/static/document/architecture.md";

/** A config file with server-everything (stdio) loaded first, then the content fixture that claims one of its URIs. */
function configDir(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "herd-agg-"));
  const file = join(dir, "config.json");
  writeFileSync(
    file,
    JSON.stringify({
      mcpServers: { everything: { command: process.execPath, args: [EVERYTHING, "stdio"] } },
      services: { content: { command: process.execPath, args: [CONTENT] } },
    }),
  );
  return { dir, file };
}

/** Every page of a list, following nextCursor (bounded). */
async function all<T>(fetch: (cursor?: string) => Promise<{ nextCursor?: string } & Record<string, unknown>>, key: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 50; i++) {
    const r = await fetch(cursor);
    out.push(...(r[key] as T[]));
    cursor = r.nextCursor;
    if (!cursor) break;
  }
  return out;
}

async function rpcError(p: Promise<unknown>): Promise<McpError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(McpError);
  return e as McpError;
}

describe.each([["http"], ["stdio"]])("services' resources, prompts and completions through /mcp (%s)", (mode) => {
  let herd: Herd;
  let client: Client;
  let dir: string;

  beforeAll(async () => {
    const cfg = configDir();
    dir = cfg.dir;
    herd = await startHerd({ http: mode === "http", args: ["--config", cfg.file] });
    client = herd.client;
  }, 60_000);

  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("declares prompts, completions and resources.subscribe", () => {
    const caps = client.getServerCapabilities();
    expect(caps?.prompts).toEqual({ listChanged: true });
    expect(caps?.completions).toEqual({});
    expect(caps?.resources).toEqual({ listChanged: true, subscribe: true });
  });

  it("serves the children's prompts as <service>__<prompt>, and prompts/get reaches the child", async () => {
    const prompts = await all<{ name: string }>((cursor) => client.listPrompts(cursor ? { cursor } : {}), "prompts");
    const names = prompts.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(["everything__simple-prompt", "everything__args-prompt", "everything__completable-prompt", "content__greet"]));
    const got = await client.getPrompt({ name: "everything__args-prompt", arguments: { city: "Paris" } });
    expect(JSON.stringify(got.messages)).toContain("Paris");
    const greet = await client.getPrompt({ name: "content__greet", arguments: { who: "Ada" } });
    expect(greet.messages[0]?.content).toEqual({ type: "text", text: "Hello, Ada!" });
  });

  it("completion/complete reaches the owning child for a prompt (our name) and for a resource template", async () => {
    const byPrompt = await client.complete({
      ref: { type: "ref/prompt", name: "everything__completable-prompt" },
      argument: { name: "department", value: "Eng" },
    });
    expect(byPrompt.completion.values).toEqual(["Engineering"]);
    const withContext = await client.complete({
      ref: { type: "ref/prompt", name: "everything__completable-prompt" },
      argument: { name: "name", value: "" },
      context: { arguments: { department: "Sales" } },
    });
    expect(withContext.completion.values).toEqual(["David", "Eve", "Frank"]);
    const templates = await all<{ uriTemplate: string }>((cursor) => client.listResourceTemplates(cursor ? { cursor } : {}), "resourceTemplates");
    const dynamic = templates.find((t) => t.uriTemplate.startsWith("demo://resource/dynamic/text/"));
    expect(dynamic).toBeDefined();
    expect(templates.map((t) => t.uriTemplate)).toContain("herd://services/{name}/logs");
    const byTemplate = await client.complete({ ref: { type: "ref/resource", uri: dynamic!.uriTemplate }, argument: { name: "resourceId", value: "1" } });
    expect(byTemplate.completion.values.length).toBeGreaterThan(0);
    const own = await client.complete({ ref: { type: "ref/resource", uri: "herd://services/{name}/logs" }, argument: { name: "name", value: "ev" } });
    expect(own.completion.values).toEqual(["everything"]);
  });

  it("lists the children's resources beside ours, each URI once, and reads them under their own URIs", async () => {
    const resources = await all<{ uri: string }>((cursor) => client.listResources(cursor ? { cursor } : {}), "resources");
    const uris = resources.map((r) => r.uri);
    expect(uris).toEqual(expect.arrayContaining(["herd://services", "herd://hosts", "fixture://note", CLASH_URI]));
    expect(uris.filter((u) => u === CLASH_URI)).toHaveLength(1);
    const note = await client.readResource({ uri: "fixture://note" });
    expect(note.contents[0]).toMatchObject({ uri: "fixture://note", text: "the note" });
    // The URI two services list goes to the first loaded (everything): not the fixture's copy.
    const clash = await client.readResource({ uri: CLASH_URI });
    expect(JSON.stringify(clash.contents)).not.toContain("content-fixture's copy");
    // A URI only a template describes (as in a resource_link) reaches the template's owner.
    const dynamic = await client.readResource({ uri: "demo://resource/dynamic/text/3" });
    expect(dynamic.contents[0]?.uri).toBe("demo://resource/dynamic/text/3");
    const own = await client.readResource({ uri: "herd://services" });
    expect(own.contents[0]?.mimeType).toBe("application/json");
  });

  it("reports the URI clash in service_list", async () => {
    const r = await client.callTool({ name: "service_list", arguments: { name: "content" } });
    const text = allText(r as never);
    expect(text).toContain(`resource ${CLASH_URI} (served by 'everything')`);
    const s = (r.structuredContent as { services: Array<{ notes?: string[] }> }).services[0];
    expect(s?.notes?.join("\n")).toContain(CLASH_URI);
    expect(herd.stderr()).toContain(`service 'content': resource ${CLASH_URI} is already served by 'everything'`);
  });

  it("forwards resources/subscribe and the child's notifications/resources/updated", async () => {
    const uri = "demo://resource/dynamic/text/1";
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri });
    await client.callTool({ name: "everything__toggle-subscriber-updates", arguments: {} });
    expect(await waitFor(() => updated.includes(uri), 30_000)).toBe(true);
    await client.callTool({ name: "everything__toggle-subscriber-updates", arguments: {} });
    await client.unsubscribeResource({ uri });
  }, 40_000);

  it("forwards a child's resources/list_changed, with the new resource listed", async () => {
    let changed = 0;
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void changed++);
    const r = await client.callTool({ name: "content__add-resource", arguments: {} });
    const uri = allText(r as never);
    expect(await waitFor(() => changed > 0, 15_000)).toBe(true);
    const uris = (await all<{ uri: string }>((cursor) => client.listResources(cursor ? { cursor } : {}), "resources")).map((x) => x.uri);
    expect(uris).toContain(uri);
    expect((await client.readResource({ uri })).contents[0]).toMatchObject({ text: expect.stringMatching(/^added \d+$/) });
  });

  it("a URI no service owns is resource-not-found (-32602) with one prefix and a clear message; the server keeps serving", async () => {
    const e = await rpcError(client.readResource({ uri: "nope://nothing/here" }));
    expect(e.code).toBe(-32602);
    expect(e.message).toBe(
      "MCP error -32602: unknown resource 'nope://nothing/here': no running service lists it or has a template matching it (resources/list and resources/templates/list show what there is)",
    );
    const own = await rpcError(client.readResource({ uri: "herd://nothing" }));
    expect(own.message).toMatch(/^MCP error -32602: unknown resource 'herd:\/\/nothing': mcp-herd serves /);
    const tool = await rpcError(client.callTool({ name: "no_such_tool", arguments: {} }));
    expect(tool.message).toBe("MCP error -32602: Unknown tool 'no_such_tool'. Call tools/list to see the tools.");
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it("a child's own JSON-RPC error reaches the client with one prefix", async () => {
    const e = await rpcError(client.getPrompt({ name: "everything__args-prompt", arguments: {} }));
    expect(e.code).toBe(-32602);
    expect(e.message).toMatch(/^MCP error -32602: Invalid arguments for prompt args-prompt: /);
    expect(e.message.match(/MCP error/g)).toHaveLength(1);
  });

  it("a prompt of a service that was unloaded is a clear error, nothing hangs, the server keeps serving", async () => {
    const unload = await client.callTool({ name: "service_unload", arguments: { name: "content" } });
    expect(unload.isError).toBeFalsy();
    const started = Date.now();
    const e = await rpcError(client.getPrompt({ name: "content__greet", arguments: { who: "x" } }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(e.code).toBe(-32602);
    expect(e.message).toBe(
      "MCP error -32602: unknown prompt 'content__greet': no service 'content' is loaded (it was unloaded, or never loaded); prompts/list shows the prompts there are",
    );
    const names = (await client.listPrompts()).prompts.map((p) => p.name);
    expect(names).not.toContain("content__greet");
    expect(names).toContain("everything__simple-prompt");
    const gone = await rpcError(client.readResource({ uri: "fixture://note" }));
    expect(gone.code).toBe(-32602);
    expect((await client.readResource({ uri: CLASH_URI })).contents.length).toBeGreaterThan(0);
  });
});

describe("resource subscriptions across HTTP sessions", () => {
  let herd: Herd;
  let dir: string;

  beforeAll(async () => {
    const cfg = configDir();
    dir = cfg.dir;
    herd = await startHerd({ http: true, args: ["--config", cfg.file] });
  }, 60_000);

  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an update reaches only the sessions subscribed to that URI, also after another session left", async () => {
    const uri = "demo://resource/dynamic/text/2";
    const a = herd.client;
    const b = await herd.connect();
    const c = await herd.connect();
    const got = { a: 0, b: 0, c: 0 };
    a.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void (n.params.uri === uri && got.a++));
    b.setNotificationHandler(ResourceUpdatedNotificationSchema, () => void got.b++);
    c.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void (n.params.uri === uri && got.c++));
    await a.subscribeResource({ uri });
    await c.subscribeResource({ uri });
    // c ends its session (DELETE): the server drops c's subscription, a's stays.
    await (c.transport as StreamableHTTPClientTransport).terminateSession();
    await c.close();
    await a.callTool({ name: "everything__toggle-subscriber-updates", arguments: {} });
    expect(await waitFor(() => got.a > 0, 30_000)).toBe(true);
    expect(got.b).toBe(0);
    expect(got.c).toBe(0);
    await a.callTool({ name: "everything__toggle-subscriber-updates", arguments: {} });
  }, 40_000);
});
