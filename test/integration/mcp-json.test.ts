import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { describe, expect, it } from "vitest";
import { ROOT, cleanEnv } from "../helpers/herd.js";

describe("mcp.json", () => {
  it("is a client entry that starts the built server from the repository folder", async () => {
    const entry = JSON.parse(readFileSync(join(ROOT, "mcp.json"), "utf8")).mcpServers.herd as { command: string; args: string[]; env: Record<string, string> };
    expect(entry.command).toBe("node");
    const state = mkdtempSync(join(tmpdir(), "herd-mcpjson-"));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: entry.args,
      cwd: ROOT,
      env: cleanEnv({ ...entry.env, MCP_HERD_STATE_DIR: state }),
      stderr: "ignore",
    });
    const client = new Client({ name: "mcp-json", version: "0" });
    try {
      await client.connect(transport);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["herd_status", "service_load", "remote_shell"]));
    } finally {
      await client.close();
      rmSync(state, { recursive: true, force: true });
    }
  });
});
