import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { allText, startHerd, type Herd } from "../helpers/herd.js";

// The caller's shell may carry mcp-herd's own settings; a server under test must not inherit them.
describe("test helpers give the server a clean environment", () => {
  const saved: Record<string, string | undefined> = {};
  let h: Herd | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a server started while MCP_HERD_TOKEN and LMCP_HUB_BACKENDS are set in the caller sees neither", async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-hermetic-"));
    const hosts = join(dir, "backends");
    writeFileSync(hosts, "stray stray.invalid - -\n");
    for (const [k, v] of Object.entries({ MCP_HERD_TOKEN: "caller-token-0123456789abcdef", LMCP_HUB_BACKENDS: hosts })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
    // Over HTTP with no token given by the test: a server that inherited MCP_HERD_TOKEN would answer 401.
    h = await startHerd({ http: true });
    const r = await h.client.callTool({ name: "remote_list_hosts", arguments: {} });
    expect(r.isError).toBeFalsy();
    const text = allText(r as CallToolResult);
    expect(text).toMatch(/local/);
    expect(text).not.toMatch(/stray/);
  });
});
