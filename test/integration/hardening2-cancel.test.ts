import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { alive, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { INIT, MCP_HEADERS, raw } from "../helpers/http.js";

const INITIALIZED = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });

describe("a client that disconnects mid-call cancels the call", () => {
  let dir: string;
  let herd: Herd | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-cancel-"));
  });
  afterEach(async () => {
    await herd?.close();
    herd = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const slowCall = (pidFile: string) => ({ name: "remote_shell", arguments: { host: "local", command: `echo $$ > '${pidFile}'; exec sleep 100`, timeout: 120 } });
  const pidOf = async (pidFile: string) => {
    expect(await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"), 15_000)).toBe(true);
    return Number(readFileSync(pidFile, "utf8"));
  };

  it("over HTTP: the POST's connection dropped mid-call stops the command, and the session keeps serving", async () => {
    herd = await startHerd({ http: true, noClient: true });
    const init = await raw(herd.url!, { headers: MCP_HEADERS, body: INIT });
    const sid = init.headers["mcp-session-id"] as string;
    const headers = { ...MCP_HEADERS, "mcp-session-id": sid };
    expect((await raw(herd.url!, { headers, body: INITIALIZED })).status).toBe(202);
    const pidFile = join(dir, "http.pid");
    const req = request(herd.url!, { method: "POST", headers });
    req.on("error", () => undefined);
    req.on("response", (res) => res.resume());
    req.end(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: slowCall(pidFile) }));
    const pid = await pidOf(pidFile);
    expect(alive(pid)).toBe(true);
    req.destroy();
    expect(await waitFor(() => !alive(pid), 10_000), "the command outlived its caller").toBe(true);
    const list = await raw(herd.url!, { headers, body: JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/list", params: {} }) });
    expect(list.status).toBe(200);
    expect(alive(herd.pid)).toBe(true);
  });

  it("over stdio: stdin closed mid-call stops the command and the server, no process left", async () => {
    herd = await startHerd();
    const pidFile = join(dir, "stdio.pid");
    const call = herd.client.callTool(slowCall(pidFile), undefined, { timeout: 120_000 }).catch((e: Error) => e);
    const pid = await pidOf(pidFile);
    const proc = (herd.client.transport as unknown as { _process?: ChildProcess })._process;
    expect(proc?.stdin).toBeTruthy();
    proc!.stdin!.end();
    expect(await waitFor(() => !alive(pid), 10_000), "the command outlived its caller").toBe(true);
    expect(await waitFor(() => !alive(herd!.pid), 10_000), "the server outlived its client").toBe(true);
    expect(await call).toBeInstanceOf(Error);
  });
});
