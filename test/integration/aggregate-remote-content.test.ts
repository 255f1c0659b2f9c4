import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ListRootsRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, CLI, cleanEnv, ROOT, waitFor } from "../helpers/herd.js";
import { startPeerHerd, type PeerProc } from "../helpers/peers.js";
import { stopProc } from "../helpers/proc.js";

const COUNTER = join(ROOT, "test", "fixtures", "run-counter-server.mjs");
const TOKEN = "remote-content-token-0123456789";

describe("a service on another host's mcp-herd: its resources, prompts and completions are served on the hub's /mcp", () => {
  let dir: string;
  let peer: PeerProc;
  let hub: Client;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-remote-content-"));
    peer = await startPeerHerd({ stateDir: join(dir, "peer"), token: TOKEN });
    const config = join(dir, "hub.json");
    writeFileSync(config, JSON.stringify({ hosts: [{ name: "b", peer: { url: peer.url, token: TOKEN } }] }));
    hub = new Client({ name: "hub-user", version: "1" }, { capabilities: { roots: {} } });
    hub.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: "file:///hub-user-root", name: "hub-user" }] }));
    await hub.connect(
      new StdioClientTransport({ command: process.execPath, args: [CLI, "--config", config, "--state-dir", join(dir, "hub")], env: cleanEnv(), stderr: "pipe" }),
    );
    const r = (await hub.callTool({
      name: "service_load",
      arguments: { name: "rc", host: "b", command: process.execPath, args: [COUNTER], env: { RUN_COUNTER_FILE: join(dir, "runs") } },
    })) as CallToolResult;
    expect((r.structuredContent as { status?: string }).status, allText(r)).toBe("running");
  }, 90_000);
  afterAll(async () => {
    await hub?.close();
    if (peer) await stopProc(peer.proc);
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists them, reads and gets them, completes, and the child's roots request reaches the hub's calling session", async () => {
    expect(await waitFor(async () => (await hub.listPrompts()).prompts.some((p) => p.name === "rc__prompt-1"), 15_000)).toBe(true);
    expect((await hub.listResources()).resources.map((x) => x.uri)).toEqual(expect.arrayContaining(["fixture://run/1", "fixture://roots"]));
    expect(((await hub.readResource({ uri: "fixture://run/1" })).contents[0] as { text: string }).text).toBe("run 1");
    expect((await hub.getPrompt({ name: "rc__prompt-1" })).messages[0]!.content).toEqual({ type: "text", text: "run 1" });
    // The child asks for roots while answering: through the peer's endpoint session, back to this hub, to this client.
    expect((await hub.getPrompt({ name: "rc__roots", arguments: { topic: "t" } })).messages[0]!.content).toEqual({ type: "text", text: "roots: file:///hub-user-root" });
    const done = await hub.complete({ ref: { type: "ref/prompt", name: "rc__roots" }, argument: { name: "topic", value: "" } });
    expect(done.completion.values).toEqual(["file:///hub-user-root"]);
  });

  it("after the service restarts on its host, the hub serves the new run's prompts and resources", async () => {
    const r = (await hub.callTool({ name: "service_restart", arguments: { name: "rc" } })) as CallToolResult;
    expect(r.isError, allText(r)).toBeFalsy();
    expect(await waitFor(async () => (await hub.listPrompts()).prompts.some((p) => p.name === "rc__prompt-2"), 20_000, 200)).toBe(true);
    expect((await hub.listResources()).resources.map((x) => x.uri)).toContain("fixture://run/2");
    expect((await hub.getPrompt({ name: "rc__prompt-2" })).messages[0]!.content).toEqual({ type: "text", text: "run 2" });
  });

  it("an unknown resource of the host is still a clear resource-not-found error (-32602)", async () => {
    await expect(hub.readResource({ uri: "fixture://nope" })).rejects.toMatchObject({ code: -32602 });
  });
});
