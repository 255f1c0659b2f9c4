import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as client from "@modelcontextprotocol/client";
import * as server from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";

// scripts/bundle.mjs answers "is this a result / an error response?" with false, without the SDK's zod
// parse, for any message that has a `method` member. These tests hold the premise that makes that the
// same answer (the SDK's own guards never accept such a message) and that the build applied it.
const dist = fileURLToPath(new URL("../../dist/", import.meta.url));

const withMethod: unknown[] = [
  { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x" } },
  { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: 1, progress: 1 } },
  // Malformed: a valid response with a method member too.
  { jsonrpc: "2.0", id: 1, result: {}, method: "tools/call" },
  { jsonrpc: "2.0", id: 1, error: { code: -32600, message: "m" }, method: "x" },
  { jsonrpc: "2.0", error: { code: -32600, message: "m" }, method: undefined },
];
const responses: unknown[] = [
  { jsonrpc: "2.0", id: 1, result: {} },
  { jsonrpc: "2.0", id: "a", result: { content: [] } },
  { jsonrpc: "2.0", id: 1, error: { code: -32600, message: "m" } },
  { jsonrpc: "2.0", error: { code: -32700, message: "parse" } },
];

describe("the bundle's shortcut in front of the SDK's response guards", () => {
  for (const [name, sdk] of [["server", server], ["client", client]] as const) {
    it(`@modelcontextprotocol/${name}: no message with a method member is a result or an error response, and the guards still accept responses`, () => {
      for (const m of withMethod) {
        expect(sdk.isJSONRPCResultResponse(m), JSON.stringify(m)).toBe(false);
        expect(sdk.isJSONRPCErrorResponse(m), JSON.stringify(m)).toBe(false);
      }
      expect(responses.map((m) => sdk.isJSONRPCResultResponse(m) || sdk.isJSONRPCErrorResponse(m))).toEqual([true, true, true, true]);
    });
  }

  it("is in the built bundle for both the server and the client side", () => {
    const text = readdirSync(dist)
      .filter((f) => f.endsWith(".js"))
      .map((f) => readFileSync(join(dist, f), "utf8"))
      .join("\n");
    const shortcut = /(?:var|let|const) isJSONRPC(?:Result|Error)Response\d* = \(value\) => !\(typeof value === "object" && value !== null && "method" in value\) && /g;
    expect(text.match(shortcut)?.length).toBe(4);
    expect(text).not.toMatch(/(?:var|let|const) isJSONRPC(Result|Error)Response\d* = \(value\) => JSONRPC\w+Schema\.safeParse/);
  });
});
