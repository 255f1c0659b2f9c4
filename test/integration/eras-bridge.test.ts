import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp, withInputRequired, type InputRequiredResult } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdio } from "@modelcontextprotocol/client/stdio";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as LegacyStdio } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport as LegacyHttp } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CLI, ROOT, cleanEnv, waitFor } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const ASKS = join(ROOT, "test", "fixtures", "asks-client.mjs");
const MODERN_ASKS = join(ROOT, "test", "fixtures", "modern-asks-server.mjs");
const MODERN_CHILD = join(ROOT, "test", "fixtures", "modern-stdio-child.mjs");
const TOKEN = "eras-bridge-token-0123456789";
const ROOTS = [{ uri: "file:///tmp/bridge-root", name: "bridge-root" }];
const ALL_CAPS = { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } };
// The herd's bound on a modern client's return with the input (inputWaitSeconds in its config).
const WAIT_S = 2;

type Text = { content?: Array<{ type: string; text?: string }>; isError?: boolean };
const text = (r: unknown) => ((r as Text).content ?? []).map((c) => c.text ?? "").join("\n");

/** A 2026-07-28 client answering sampling, elicitation and roots (through the SDK's input_required driver). */
function modernClient(name: string, caps: Record<string, unknown> = ALL_CAPS, opts: { hangSampling?: boolean } = {}): ModernClient {
  const client = new ModernClient({ name, version: "0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } }, capabilities: caps });
  if (caps.sampling) {
    client.setRequestHandler("sampling/createMessage", async (req) => {
      if (opts.hangSampling) await new Promise(() => undefined);
      const first = req.params.messages[0]?.content;
      const prompt = first && !Array.isArray(first) && first.type === "text" ? first.text : "";
      return { role: "assistant", model: `model-of-${name}`, content: { type: "text", text: `answer to ${prompt}` } };
    });
  }
  if (caps.elicitation) client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { name: `person-of-${name}` } }));
  if (caps.roots) client.setRequestHandler("roots/list", async () => ({ roots: ROOTS }));
  return client;
}

/** A 2025-era (SDK 1.x) client answering pushed sampling, elicitation and roots requests. */
function legacyClient(name: string, caps: Record<string, unknown> = ALL_CAPS): LegacyClient {
  const client = new LegacyClient({ name, version: "0" }, { capabilities: caps });
  if (caps.sampling) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      const first = req.params.messages[0]?.content;
      const prompt = first && !Array.isArray(first) && first.type === "text" ? first.text : "";
      return { role: "assistant", model: `model-of-${name}`, content: { type: "text", text: `answer to ${prompt}` } };
    });
  }
  if (caps.elicitation) client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { name: `person-of-${name}` } }));
  if (caps.roots) client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: ROOTS }));
  return client;
}

function workspace(services: Record<string, unknown>): { dir: string; args: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "herd-bridge-"));
  const config = join(dir, "config.json");
  writeFileSync(config, JSON.stringify({ inputWaitSeconds: WAIT_S, services }));
  return { dir, args: [CLI, "--state-dir", join(dir, "state"), "--config", config] };
}

interface Served {
  /** Connects a client to the herd (HTTP: a new connection to /mcp; stdio: a new herd process). */
  connect<C extends ModernClient | LegacyClient>(client: C, path?: string): Promise<C>;
  close(): Promise<void>;
}

async function serve(mode: "http" | "stdio", services: Record<string, unknown>): Promise<Served> {
  const ws = workspace(services);
  const clients: Array<ModernClient | LegacyClient> = [];
  let proc: ChildProcess | undefined;
  let url: string | undefined;
  if (mode === "http") {
    proc = spawn(process.execPath, [...ws.args, "--http", "127.0.0.1:0"], { env: cleanEnv({ MCP_HERD_TOKEN: TOKEN }), stdio: ["ignore", "pipe", "pipe"] });
    url = (await waitListening(proc, "mcp-herd")).url;
  }
  return {
    async connect(client, path = "/mcp") {
      const headers = { Authorization: `Bearer ${TOKEN}` };
      if (client instanceof ModernClient) {
        await client.connect(url ? new ModernHttp(new URL(path, url), { requestInit: { headers } }) : new ModernStdio({ command: process.execPath, args: ws.args, env: cleanEnv(), stderr: "ignore" }));
      } else {
        await client.connect(url ? new LegacyHttp(new URL(path, url), { requestInit: { headers } }) : new LegacyStdio({ command: process.execPath, args: ws.args, env: cleanEnv(), stderr: "ignore" }));
      }
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      if (proc) await stopProc(proc);
      rmSync(ws.dir, { recursive: true, force: true });
    },
  };
}

async function toolsUp(client: ModernClient | LegacyClient, prefix: string): Promise<void> {
  expect(await waitFor(async () => (await client.listTools()).tools.some((t) => t.name.startsWith(prefix)), 20_000)).toBe(true);
}

describe.each([["http" as const], ["stdio" as const]])("a 2025-era stdio child asking its client during a call of a 2026-07-28 client, over %s", (mode) => {
  let served: Served;
  let client: ModernClient;

  beforeAll(async () => {
    served = await serve(mode, { asks: { command: process.execPath, args: [ASKS] } });
    client = await served.connect(modernClient("modern"));
    await toolsUp(client, "asks__");
  }, 60_000);
  afterAll(async () => served?.close());

  it("the child's sampling request becomes the client's input_required round, and the answer completes the child's call", async () => {
    const r = await client.callTool({ name: "asks__sample", arguments: { prompt: "hello" } });
    expect(r.isError, text(r)).toBeFalsy();
    expect(text(r)).toBe("sampled: answer to hello (model-of-modern)");
  });

  it("elicitation and roots are bridged the same way", async () => {
    expect(text(await client.callTool({ name: "asks__elicit", arguments: { message: "who?" } }))).toBe("elicited: accept person-of-modern");
    expect(text(await client.callTool({ name: "asks__roots", arguments: {} }))).toBe(`roots: ${ROOTS[0]!.uri}`);
  });

  it("a call that asks twice in a row takes two rounds and ends with both answers", async () => {
    const r = await client.callTool({ name: "asks__twice", arguments: { prompt: "one" } });
    expect(text(r)).toBe("first: answer to one (model-of-modern); second: accept person-of-modern");
  });

  it("a prompt and a resource of the child that ask during prompts/get and resources/read are bridged too", async () => {
    const prompt = await client.getPrompt({ name: "asks__ask", arguments: { topic: "tea" } });
    expect(JSON.stringify(prompt.messages)).toContain("about tea: answer to tea (model-of-modern)");
    const read = await client.readResource({ uri: "asks://roots" });
    expect(read.contents[0]).toMatchObject({ text: `roots: ${ROOTS[0]!.uri}` });
  });

  it("a request that has no input_required form (custom/ask) is refused to the child with the reason", async () => {
    const r = await client.callTool({ name: "asks__custom", arguments: {} });
    expect(text(r)).toMatch(/custom failed: .*custom\/ask cannot reach a 2026-07-28 client: .*only elicitation\/create, sampling\/createMessage and roots\/list have an input_required form/);
  });
});

describe("bridging a 2026-07-28 client's rounds over HTTP: refusals and bounds", () => {
  let served: Served;
  let client: ModernClient;

  beforeAll(async () => {
    served = await serve("http", { asks: { command: process.execPath, args: [ASKS] } });
    client = await served.connect(modernClient("modern"));
    await toolsUp(client, "asks__");
  }, 60_000);
  afterAll(async () => served?.close());

  it("on /services/<name>/mcp too: the child's requests during a tool call, a prompt and a resource read become the client's rounds", async () => {
    const own = await served.connect(modernClient("as-itself"), "/services/asks/mcp");
    expect(text(await own.callTool({ name: "sample", arguments: { prompt: "as itself" } }))).toBe("sampled: answer to as itself (model-of-as-itself)");
    expect(text(await own.callTool({ name: "twice", arguments: { prompt: "two" } }))).toBe("first: answer to two (model-of-as-itself); second: accept person-of-as-itself");
    const prompt = await own.getPrompt({ name: "ask", arguments: { topic: "tea" } });
    expect(JSON.stringify(prompt.messages)).toContain("about tea: answer to tea (model-of-as-itself)");
    const read = await own.readResource({ uri: "asks://roots" });
    expect(read.contents[0]).toMatchObject({ text: `roots: ${ROOTS[0]!.uri}` });
  });

  it("a modern client without the sampling capability: the child's request is refused naming the capability, the call still answers", async () => {
    const bare = await served.connect(modernClient("bare", { elicitation: { form: {} } }));
    const r = await bare.callTool({ name: "asks__sample", arguments: { prompt: "x" } });
    expect(text(r)).toMatch(/sampling failed: .*does not support sampling \(no 'sampling' capability\)/);
  });

  it("a client that never comes back: after inputWaitSeconds the child's request fails with the reason, and the continuation is gone", async () => {
    const manual = await served.connect(new ModernClient({ name: "manual", version: "0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } }, capabilities: ALL_CAPS, inputRequired: { autoFulfill: false } }));
    const first = (await manual.request({ method: "tools/call", params: { name: "asks__sample", arguments: { prompt: "never" } } }, withInputRequired(z.looseObject({})), { allowInputRequired: true })) as InputRequiredResult;
    const requests = Object.values(first.inputRequests ?? {}) as Array<{ method: string; params?: { messages?: unknown[] } }>;
    expect(requests).toHaveLength(1);
    expect(requests[0]!.method).toBe("sampling/createMessage");
    expect(JSON.stringify(requests[0]!.params?.messages)).toContain("never");
    // Unguessable: a long random id behind our prefix.
    expect(first.requestState).toMatch(/^herd1\.[A-Za-z0-9_-]{32}$/);
    const started = Date.now();
    expect(
      await waitFor(async () => /did not come back with the answer to sampling\/createMessage within 2 s/.test(text(await client.callTool({ name: "asks__last_error", arguments: {} }))), 10 * WAIT_S * 1000),
    ).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(WAIT_S * 1000 - 500);
    // Coming back after the deadline: the state is unknown now, a clear JSON-RPC error.
    const late = manual.request(
      { method: "tools/call", params: { name: "asks__sample", arguments: { prompt: "never" }, inputResponses: {}, requestState: first.requestState } as never },
      withInputRequired(z.looseObject({})),
      { allowInputRequired: true },
    );
    await expect(late).rejects.toThrow(/Invalid or expired requestState/);
  }, 30_000);

  it("a requestState minted for one call does not resume another (other arguments), nor does a made-up one", async () => {
    const manual = await served.connect(new ModernClient({ name: "manual2", version: "0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } }, capabilities: ALL_CAPS, inputRequired: { autoFulfill: false } }));
    const call = (args: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      manual.request({ method: "tools/call", params: { name: "asks__sample", arguments: args, ...extra } as never }, withInputRequired(z.looseObject({})), { allowInputRequired: true });
    const first = (await call({ prompt: "mine" })) as InputRequiredResult;
    const key = Object.keys(first.inputRequests ?? {})[0]!;
    const answer = { role: "assistant", model: "m", content: { type: "text", text: "stolen" } };
    await expect(call({ prompt: "other" }, { inputResponses: { [key]: answer }, requestState: first.requestState })).rejects.toThrow(/Invalid or expired requestState/);
    await expect(call({ prompt: "mine" }, { inputResponses: { [key]: answer }, requestState: "herd1.made-up" })).rejects.toThrow(/Invalid or expired requestState/);
    // The rightful retry still completes the call.
    const done = await call({ prompt: "mine" }, { inputResponses: { [key]: { ...answer, content: { type: "text", text: "mine indeed" } } }, requestState: first.requestState });
    expect(text(done)).toBe("sampled: mine indeed (m)");
  });
});

describe.each([["http" as const], ["stdio" as const]])("a 2026-07-28 url child asking for input during a call of a 2025-era client, over %s", (mode) => {
  let far: ChildProcess;
  let served: Served;
  let client: LegacyClient;

  beforeAll(async () => {
    far = spawn(process.execPath, [MODERN_ASKS], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const { url } = await waitListening(far, "modern-asks");
    served = await serve(mode, { far: { url, protocol: "2026-07-28" } });
    client = await served.connect(legacyClient("legacy"));
    await toolsUp(client, "far__");
  }, 60_000);
  afterAll(async () => {
    await served?.close();
    if (far) await stopProc(far);
  });

  it("the child's input_required sampling becomes a pushed request to the client, and its answer goes back in the child's retry", async () => {
    const r = await client.callTool({ name: "far__sample", arguments: { prompt: "hi" } });
    expect(r.isError, text(r)).toBeFalsy();
    expect(text(r)).toBe("sampled: answer to hi (model-of-legacy)");
  });

  it("elicitation and roots are pushed the same way", async () => {
    expect(text(await client.callTool({ name: "far__elicit", arguments: { message: "who?" } }))).toBe("elicited: accept person-of-legacy");
    expect(text(await client.callTool({ name: "far__roots", arguments: {} }))).toBe(`roots: ${ROOTS[0]!.uri}`);
  });

  it("a legacy client without the sampling capability gets a clear error naming it", async () => {
    const bare = await served.connect(legacyClient("bare", { elicitation: {} }));
    const r = await bare.callTool({ name: "far__sample", arguments: { prompt: "x" } }).catch((e: Error) => ({ content: [{ type: "text", text: e.message }], isError: true }));
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/does not support sampling \(no 'sampling' capability\)/);
  });

  it("a 2026-07-28 client calling the same child: the input_required rounds reach it through the herd too", async () => {
    const modern = await served.connect(modernClient("modern"));
    expect(text(await modern.callTool({ name: "far__sample", arguments: { prompt: "both modern" } }))).toBe("sampled: answer to both modern (model-of-modern)");
  });
});

describe.each([["http" as const], ["stdio" as const]])("a 2026-07-28 stdio child asking for input during a call, over %s", (mode) => {
  let served: Served;

  beforeAll(async () => {
    served = await serve(mode, { kid: { command: process.execPath, args: [MODERN_CHILD], protocol: "2026-07-28" } });
  }, 60_000);
  afterAll(async () => served?.close());

  it("a 2025-era client gets the child's input_required sampling and elicitation as pushed requests; the answers go back in the child's retry", async () => {
    const legacy = await served.connect(legacyClient("legacy"));
    await toolsUp(legacy, "kid__");
    expect(text(await legacy.callTool({ name: "kid__era", arguments: {} }))).toBe("modern");
    const r = await legacy.callTool({ name: "kid__sample", arguments: { prompt: "from stdio" } });
    expect(r.isError, text(r)).toBeFalsy();
    expect(text(r)).toBe("sampled: answer to from stdio (model-of-legacy)");
    expect(text(await legacy.callTool({ name: "kid__elicit", arguments: { message: "who?" } }))).toBe("elicited: accept person-of-legacy");
  });

  it("a 2026-07-28 client gets the child's rounds as its own input_required rounds", async () => {
    const modern = await served.connect(modernClient("modern"));
    await toolsUp(modern, "kid__");
    expect(text(await modern.callTool({ name: "kid__sample", arguments: { prompt: "modern to modern" } }))).toBe("sampled: answer to modern to modern (model-of-modern)");
    expect(text(await modern.callTool({ name: "kid__elicit", arguments: { message: "who?" } }))).toBe("elicited: accept person-of-modern");
  });

  if (mode !== "http") return;

  it("on /services/<name>/mcp too, for either era's client", async () => {
    const own = await served.connect(modernClient("as-itself"), "/services/kid/mcp");
    expect(text(await own.callTool({ name: "sample", arguments: { prompt: "as itself" } }))).toBe("sampled: answer to as itself (model-of-as-itself)");
    const legacy = await served.connect(legacyClient("legacy-itself"), "/services/kid/mcp");
    expect(text(await legacy.callTool({ name: "elicit", arguments: { message: "who?" } }))).toBe("elicited: accept person-of-legacy-itself");
  });
});
