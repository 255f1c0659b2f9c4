import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from "@modelcontextprotocol/sdk/types.js";
import { afterEach, describe, expect, it } from "vitest";
import { startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { startLmcpFixture, type PeerProc } from "../helpers/peers.js";

type Message = LoggingMessageNotification["params"];

/** The lmcp fixture host on a port (0: any), so it can be stopped and started again on the same one. */
async function startPeer(port = 0): Promise<PeerProc> {
  const peer = await startLmcpFixture(["--port", String(port)]);
  cleanups.push(peer.stop);
  return peer;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A hub whose only host is `box`, reached through the given peer URL. */
async function hub(peerUrl: string, args: string[] = []): Promise<Herd> {
  const dir = mkdtempSync(join(tmpdir(), "herd-events-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, "config.json");
  writeFileSync(config, JSON.stringify({ local: false, hosts: [{ name: "box", peer: { url: peerUrl } }], peerTimeoutSeconds: 3 }));
  const h = await startHerd({ http: true, args: ["--config", config, ...args], env: { LMCP_HUB_BACKENDS: "" } });
  cleanups.push(() => h.close());
  return h;
}

const probe = async (h: Herd) => {
  const r = await h.client.callTool({ name: "remote_list_hosts", arguments: { force: true } }, undefined, { timeout: 30_000 });
  expect(r.isError).toBeFalsy();
};

describe("operator events in the terminal and as MCP log messages", () => {
  it("a host going down reaches a client as notifications/message (warning) and its coming back as info; setLevel error filters the warning; the terminal shows the start line then one line per event", async () => {
    const peer = await startPeer();
    const h = await hub(peer.url);
    const seen: Message[] = [];
    h.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen.push(n.params));
    const quiet = await h.connect();
    const quietSeen: Message[] = [];
    quiet.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void quietSeen.push(n.params));
    await quiet.setLoggingLevel("error");

    await probe(h);
    await peer.stop();
    await probe(h);
    expect(seen.filter((m) => m.logger === "host:box")).toEqual([]);
    await probe(h);
    expect(await waitFor(() => seen.some((m) => m.logger === "host:box"), 10_000)).toBe(true);
    const down = seen.find((m) => m.logger === "host:box")!;
    expect(down.level).toBe("warning");
    expect(down.data).toMatchObject({ host: "box", state: "DOWN", message: expect.stringMatching(/host 'box' is DOWN: peer: /) });

    const again = await startPeer(peer.port);
    await probe(h);
    expect(await waitFor(() => seen.filter((m) => m.logger === "host:box").length >= 2, 10_000)).toBe(true);
    const up = seen.filter((m) => m.logger === "host:box")[1]!;
    expect(up.level).toBe("info");
    expect(up.data).toMatchObject({ host: "box", state: "UP", message: expect.stringMatching(/host 'box' is back UP via peer \(down since /) });
    await again.stop();

    // The quiet session asked for errors only: neither event (warning, info) reached it.
    await new Promise((r) => setTimeout(r, 300));
    expect(quietSeen.filter((m) => m.logger === "host:box")).toEqual([]);

    const lines = h.stderr().trim().split("\n");
    expect(lines[0]).toMatch(/^\S+ INFO  \[herd\] mcp-herd \S+ listening on http:\/\/127\.0\.0\.1:\d+\/mcp /);
    const eventLines = lines.filter((l) => l.includes("host:box:"));
    expect(eventLines).toEqual([
      expect.stringMatching(/^\S+ WARN  \[herd\] host:box: host 'box' is DOWN: peer: /),
      expect.stringMatching(/^\S+ INFO  \[herd\] host:box: host 'box' is back UP via peer/),
    ]);
  });

  it("--log-format json writes the start line and each event as one JSON object per line", async () => {
    const peer = await startPeer();
    const h = await hub(peer.url, ["--log-format", "json"]);
    await probe(h);
    await peer.stop();
    await probe(h);
    await probe(h);
    expect(await waitFor(() => h.stderr().includes("host:box:"), 10_000)).toBe(true);
    const records = h
      .stderr()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { time: string; level: string; scope: string; msg: string });
    expect(records[0]).toMatchObject({ level: "info", scope: "herd", msg: expect.stringMatching(/listening on http:\/\/127\.0\.0\.1:\d+\/mcp/) });
    expect(records.filter((r) => r.msg.startsWith("host:box:"))).toEqual([
      expect.objectContaining({ level: "warn", msg: expect.stringMatching(/host 'box' is DOWN/), time: expect.any(String) }),
    ]);
  });
});
