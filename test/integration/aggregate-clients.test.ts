import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, CLI, ROOT, startHerd, type Herd } from "../helpers/herd.js";
import { stopProc, waitListening } from "../helpers/proc.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const SSE = join(ROOT, "test", "fixtures", "sse-server.mjs");

describe("client configs load as they are", () => {
  let dir: string;
  let sse: ChildProcess;
  let sseUrl: string;
  let herd: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-clients-"));
    sse = spawn(process.execPath, [SSE], { stdio: ["ignore", "ignore", "pipe"] });
    sseUrl = (await waitListening(sse, "sse fixture", { re: /listening on (http:\/\/\S+\/sse)/ })).url;
    // As Cline writes cline_mcp_settings.json, plus a Claude Code "type": "sse" entry.
    const file = join(dir, "cline_mcp_settings.json");
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          "GitHub Tools": {
            command: process.execPath,
            args: [ECHO],
            env: {},
            alwaysAllow: ["echo"],
            autoApprove: [],
            disabled: false,
            timeout: 60,
            transportType: "stdio",
          },
          legacy: { type: "sse", url: sseUrl },
        },
      }),
    );
    herd = await startHerd({ args: ["--config", file] });
  }, 60_000);

  afterAll(async () => {
    await herd?.close();
    if (sse) await stopProc(sse);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a pasted Cline config loads: the uppercase name is mapped, client-only keys ignored with one warning", async () => {
    const tools = (await herd.client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain("github-tools__echo");
    const r = await herd.client.callTool({ name: "github-tools__echo", arguments: { message: "hi" } });
    expect(allText(r as never)).toBe("hi");
    const list = await herd.client.callTool({ name: "service_list", arguments: { name: "github-tools" } });
    expect(allText(list as never)).toContain("note: named 'GitHub Tools' in the config file");
    const err = herd.stderr();
    expect(err).toContain("config: mcpServers.GitHub Tools: served as service 'github-tools'");
    const warnings = err.split("\n").filter((l) => l.includes("ignored client-only keys"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("mcpServers.GitHub Tools.alwaysAllow, mcpServers.GitHub Tools.autoApprove, mcpServers.GitHub Tools.timeout");
  });

  it('a "type": "sse" server is reached with the SSE client transport', async () => {
    const tools = (await herd.client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain("legacy__echo");
    const r = await herd.client.callTool({ name: "legacy__echo", arguments: { message: "old" } });
    expect(allText(r as never)).toBe("sse: old");
    const list = await herd.client.callTool({ name: "service_list", arguments: { name: "legacy" } });
    expect(allText(list as never)).toContain("running");
    // Resources and prompts of a url service go through the same peer connection.
    const read = await herd.client.readResource({ uri: "sse://hello" });
    expect(read.contents[0]).toMatchObject({ uri: "sse://hello", text: "hello over sse" });
    const prompt = await herd.client.getPrompt({ name: "legacy__hi" });
    expect(prompt.messages[0]?.content).toEqual({ type: "text", text: "hi from sse" });
  });

  it("wrong types are still refused, naming the key", async () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ mcpServers: { "My Server": { command: "node", args: "server.js", alwaysAllow: [] } } }));
    const out = await runCli(["--config", file, "--print-config"]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain("mcpServers.My Server.args: Invalid input: expected array, received string");
    writeFileSync(file, JSON.stringify({ servers: { web: { type: "websocket", url: "ws://127.0.0.1:1" } } }));
    const typed = await runCli(["--config", file, "--print-config"]);
    expect(typed.code).not.toBe(0);
    expect(typed.stderr).toContain("servers.web.type:");
    writeFileSync(file, JSON.stringify({ mcpServers: { x: { command: "node", alwaysAllowed: [] } } }));
    const typo = await runCli(["--config", file, "--print-config"]);
    expect(typo.stderr).toContain("unknown key 'mcpServers.x.alwaysAllowed'");
  });
});

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill("SIGKILL"), 20_000);
    p.on("exit", (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}
