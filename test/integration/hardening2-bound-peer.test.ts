import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_RESULT_BYTES } from "../../src/hosts/toolset/bound.js";
import { alive, allText, startHerd, type Herd } from "../helpers/herd.js";
import { startLmcpFixture, type PeerProc } from "../helpers/peers.js";
import { stopProc } from "../helpers/proc.js";

const TOKEN = "h2-bound-peer-token-0123456789";

describe("a peer's answer is bounded like our own", () => {
  let dir: string;
  let lmcp: PeerProc;
  let hub: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-bound-peer-"));
    lmcp = await startLmcpFixture(["--token", TOKEN]);
    const config = join(dir, "hub.json");
    writeFileSync(config, JSON.stringify({ hosts: [{ name: "lmcpbox", peer: { url: lmcp.url, token: TOKEN } }] }));
    hub = await startHerd({ args: ["--config", config] });
  });
  afterAll(async () => {
    await hub?.close();
    if (lmcp) await stopProc(lmcp.proc);
    rmSync(dir, { recursive: true, force: true });
  });

  it("an lmcp host answering 3 MB of NUL bytes (18 MiB of JSON) reaches the stdio client under 6 MiB, marked, and the client lives on", async () => {
    const file = join(dir, "nul.bin");
    writeFileSync(file, Buffer.alloc(3_000_000));
    const r = (await hub.client.callTool({ name: "remote_read_file", arguments: { host: "lmcpbox", path: file } }, undefined, { timeout: 60_000 })) as CallToolResult;
    expect(Buffer.byteLength(JSON.stringify({ result: r, jsonrpc: "2.0", id: 1 }))).toBeLessThanOrEqual(MAX_RESULT_BYTES + 1024);
    expect(allText(r)).toMatch(/output truncated to fit the 6\.0 MiB message bound/);
    const after = (await hub.client.callTool({ name: "remote_list_hosts", arguments: {} })) as CallToolResult;
    expect(allText(after)).toContain("lmcpbox");
    expect(alive(hub.pid)).toBe(true);
  });
});
