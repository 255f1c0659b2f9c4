import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor, startHerd, type Herd } from "../helpers/herd.js";
import { MCP_HEADERS, raw } from "../helpers/http.js";

const A = "token-a-0123456789abcdef";
const B = "token-b-0123456789abcdef";

describe("named tokens and the audit log", () => {
  let dir: string;
  let herd: Herd;
  let audit: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-audit-"));
    audit = join(dir, "audit.jsonl");
    const config = join(dir, "c.json");
    writeFileSync(config, JSON.stringify({ tokens: [{ name: "alice", token: A }, { name: "bob", token: B }], auditLog: audit }));
    herd = await startHerd({ http: true, args: ["--config", config], token: A });
  });
  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("accepts each named token and refuses a session opened with one token when used with another", async () => {
    const bob = await herd.connect({ Authorization: `Bearer ${B}` });
    expect((await bob.callTool({ name: "herd_status", arguments: {} })).isError).toBeFalsy();
    const sid = (herd.client.transport as { sessionId?: string }).sessionId!;
    const { status } = await raw(herd.url!, {
      headers: { ...MCP_HEADERS, authorization: `Bearer ${B}`, "mcp-session-id": sid },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/list" }),
    });
    expect(status).toBe(403);
    expect((await herd.client.callTool({ name: "herd_status", arguments: {} })).isError).toBeFalsy();
    await bob.close();
  });

  it("records who did what, where, with secrets and contents reduced to their size (file mode 0600)", async () => {
    const target = join(dir, "written.txt");
    const w = await herd.client.callTool({ name: "remote_write_file", arguments: { host: "local", path: target, content: "SECRET-CONTENT-42" } });
    expect(w.isError, JSON.stringify(w.content)).toBeFalsy();
    const sh = await herd.client.callTool({
      name: "remote_shell",
      arguments: { host: "local", command: "echo audited-$X", env: { X: "ENV-SECRET-99" } },
    });
    expect(sh.isError).toBeFalsy();
    await herd.client.callTool({ name: "herd_status", arguments: {} });
    expect(await waitFor(() => readFileSync(audit, "utf8").includes("audited-"), 5_000)).toBe(true);
    const text = readFileSync(audit, "utf8");
    expect(text).not.toContain("SECRET-CONTENT-42");
    expect(text).not.toContain("ENV-SECRET-99");
    expect(text).not.toContain(A);
    const lines = text.trim().split("\n").map((l) => JSON.parse(l));
    const write = lines.find((l) => l.what === "remote_write_file");
    expect(write).toMatchObject({ who: "token:alice", where: "local", ok: true, args: { path: target, content: "<17 bytes>" } });
    const shell = lines.find((l) => l.what === "remote_shell");
    expect(shell).toMatchObject({ who: "token:alice", args: { command: "echo audited-$X", env: "<1 keys>" }, ok: true });
    expect(shell.duration_ms).toEqual(expect.any(Number));
    expect(lines.some((l) => l.what === "herd_status")).toBe(false);
    expect(statSync(audit).mode & 0o777).toBe(0o600);
  });
});
