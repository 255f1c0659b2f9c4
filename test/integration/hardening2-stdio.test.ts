import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, allText, startHerd, waitFor, type Herd } from "../helpers/herd.js";

describe("stdio survives a message over its 10 MiB limit", () => {
  let dir: string;
  let herd: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-stdio-"));
    herd = await startHerd();
  });
  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an 11 MB remote_write_file gets a clear JSON-RPC error, writes nothing, and the next calls are answered", async () => {
    const path = join(dir, "big.txt");
    const t0 = Date.now();
    const big = herd.client.callTool({ name: "remote_write_file", arguments: { host: "local", path, content: "z".repeat(11_000_000) } }, undefined, {
      timeout: 30_000,
    });
    await expect(big).rejects.toThrow(/-32600.*Request too large: a message of \d+ bytes is over the stdio limit of 10 MiB/);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(existsSync(path)).toBe(false);
    expect(herd.stderr()).toMatch(/over the stdio limit of 10 MiB; answered request \d+ with an error/);

    for (let i = 0; i < 3; i++) {
      const r = (await herd.client.callTool({ name: "remote_shell", arguments: { host: "local", command: `echo after-${i}` } })) as CallToolResult;
      expect(r.isError, allText(r)).toBeFalsy();
      expect(allText(r)).toContain(`after-${i}`);
    }
    const small = (await herd.client.callTool({ name: "remote_write_file", arguments: { host: "local", path, content: "small" } })) as CallToolResult;
    expect(small.isError, allText(small)).toBeFalsy();
    expect(alive(herd.pid)).toBe(true);
  });

  it("an oversize message without an id is dropped with a logged error, and the server keeps serving", async () => {
    await herd.client.transport!.send({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "n".repeat(11 * 1024 * 1024) } });
    expect(await waitFor(() => /over the stdio limit of 10 MiB; dropped it/.test(herd.stderr()), 20_000)).toBe(true);
    const r = (await herd.client.callTool({ name: "remote_shell", arguments: { host: "local", command: "echo still" } })) as CallToolResult;
    expect(allText(r)).toContain("still");
  });
});
