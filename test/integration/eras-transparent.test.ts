import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport, withInputRequired, type InputRequiredResult } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { CLI, ROOT, cleanEnv, waitFor } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const MODERN_ASKS = join(ROOT, "test", "fixtures", "modern-asks-server.mjs");
const TOKEN = "eras-transparent-token-0123456789";

type Text = { content?: Array<{ type: string; text?: string }> };
const text = (r: unknown) => ((r as Text).content ?? []).map((c) => c.text ?? "").join("\n");
const Loose = z.looseObject({});

describe("a 2026-07-28 client and a 2026-07-28 service on /services/<name>/mcp: the hop is transparent", () => {
  let far: ChildProcess;
  let herd: ChildProcess;
  let dir: string;
  let base: string;
  const clients: Client[] = [];

  async function connect(caps: Record<string, unknown>, autoFulfill = false): Promise<Client> {
    const client = new Client({ name: "pinned", version: "0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } }, capabilities: caps, inputRequired: { autoFulfill } });
    await client.connect(new StreamableHTTPClientTransport(new URL("/services/far/mcp", base), { requestInit: { headers: { Authorization: `Bearer ${TOKEN}` } } }));
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    far = spawn(process.execPath, [MODERN_ASKS], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const { url } = await waitListening(far, "modern-asks");
    dir = mkdtempSync(join(tmpdir(), "herd-transparent-"));
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ services: { far: { url, protocol: "2026-07-28" } } }));
    herd = spawn(process.execPath, [CLI, "--state-dir", join(dir, "state"), "--config", config, "--http", "127.0.0.1:0"], { env: cleanEnv({ MCP_HERD_TOKEN: TOKEN }), stdio: ["ignore", "pipe", "pipe"] });
    base = (await waitListening(herd, "mcp-herd")).url;
    // The endpoint answers 503 until mcp-herd has connected to the service.
    expect(await waitFor(async () => Boolean(await connect({}).catch(() => undefined)), 20_000)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    if (herd) await stopProc(herd);
    if (far) await stopProc(far);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the service's own inputRequests keys and requestState reach the client, and its retry reaches the service as it came", async () => {
    const client = await connect({ elicitation: { form: {} } });
    const first = (await client.request({ method: "tools/call", params: { name: "stateful", arguments: {} } }, withInputRequired(Loose), { allowInputRequired: true })) as InputRequiredResult;
    expect(first.resultType).toBe("input_required");
    expect(Object.keys(first.inputRequests ?? {})).toEqual(["user_name"]);
    expect(first.requestState).toBe("fixture-state-1");
    const done = await client.request(
      { method: "tools/call", params: { name: "stateful", arguments: {}, inputResponses: { user_name: { action: "accept", content: { name: "Ada" } } }, requestState: first.requestState } },
      withInputRequired(Loose),
      { allowInputRequired: true },
    );
    expect(text(done)).toBe("state fixture-state-1: Ada");
  });

  it("the service sees the client capabilities of the caller's request, not mcp-herd's own", async () => {
    expect(text(await (await connect({ elicitation: { form: {} } })).callTool({ name: "caps", arguments: {} }))).toBe("elicitation");
    expect(text(await (await connect({})).callTool({ name: "caps", arguments: {} }))).toBe("none");
  });
});
