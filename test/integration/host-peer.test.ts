import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHerd, type Herd } from "../helpers/herd.js";

const TOKEN = "peer-test-token-0123456789abcdef";
type Result = {
  content: Array<{ type: string; text?: string }>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test reads arbitrary result fields
  structuredContent?: Record<string, any>;
  isError?: boolean;
};
const text = (r: Result) => r.content.find((c) => c.type === "text")?.text ?? "";

describe("mcp-herd --peer serves this machine's host tools over HTTP", () => {
  let home: string;
  let herd: Herd;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "herd-peer-home-"));
    herd = await startHerd({ http: true, token: TOKEN, args: ["--peer"], env: { HOME: home } });
  });
  afterAll(async () => {
    await herd?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it("lists the host tool set under the plain names", async () => {
    const { tools } = await herd.client.listTools();
    const names = tools.map((t) => t.name);
    for (const n of ["shell", "shell_bg", "read_file", "write_file", "edit_file", "list_dir", "search_files"]) {
      expect(names).toContain(n);
    }
    const shell = tools.find((t) => t.name === "shell")!;
    expect(shell.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
    expect(shell.outputSchema?.properties).toHaveProperty("exit_code");
  });

  it("runs shell lmcp-style with structured output", async () => {
    const r = (await herd.client.callTool({ name: "shell", arguments: { command: "echo hi; echo warn >&2; pwd" } })) as Result;
    expect(text(r)).toBe(`[rc=0]\nhi\n${home}\n[stderr]\nwarn\n`);
    expect(r.structuredContent).toMatchObject({ exit_code: 0, via: "local", truncated: false, timed_out: false });
    const bad = (await herd.client.callTool({ name: "shell", arguments: { command: "exit 3" } })) as Result;
    expect(bad.isError).toBe(true);
    expect(text(bad)).toBe("[rc=3]\n");
  });

  it("writes and reads back a hostile path byte-exact", async () => {
    const name = "dir with 'quotes' $(x) `y`\nnewline.txt";
    const content = "a $(id) `id` \"q\" 'q'\r\nü😀\n";
    const w = (await herd.client.callTool({ name: "write_file", arguments: { path: name, content } })) as Result;
    expect(w.isError, text(w)).toBeFalsy();
    expect(readFileSync(join(home, name), "utf8")).toBe(content);
    const r = (await herd.client.callTool({ name: "read_file", arguments: { path: `~/${name}` } })) as Result;
    expect(text(r)).toBe(content);
    expect(r.structuredContent?.content).toBe(content);
  });

  it("kills a command at its timeout", async () => {
    const t0 = Date.now();
    const r = (await herd.client.callTool({ name: "shell", arguments: { command: "sleep 30", timeout: 1 } })) as Result;
    // ~1 s expected; 10 s is a deadline against a hang.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toMatchObject({ timed_out: true, killed: true });
  });

  it("answers a bare JSON-RPC tools/call the way the lmcp hub sends it", async () => {
    const res = await fetch(herd.url!, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "shell", arguments: { command: "echo bare" } } }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: number; result: Result };
    expect(body.id).toBe(7);
    expect(text(body.result)).toBe("[rc=0]\nbare\n");
  });
});

describe("without --peer", () => {
  it("does not serve the host tools", async () => {
    const herd = await startHerd({ http: true, token: TOKEN });
    try {
      const { tools } = await herd.client.listTools();
      expect(tools.map((t) => t.name)).not.toContain("shell");
    } finally {
      await herd.close();
    }
  });
});
