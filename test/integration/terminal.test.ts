import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, startHerd, waitFor } from "../helpers/herd.js";

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const text = (r: unknown) => ((r as { content?: Array<{ text?: string }> }).content?.[0]?.text ?? "") as string;

describe("a terminal session of mcp-herd --http", () => {
  it.each([
    ["info", true],
    ["warn", false],
  ] as const)("--log-level %s: the start line, then one line per service event at or above the level", async (level, infoShown) => {
    const herd = await startHerd({ http: true, args: ["--log-level", level], env: { MCP_HERD_BACKOFF_START_MS: "100" } });
    try {
      const lines = () => herd.stderr().trim().split("\n");
      expect(lines()[0]).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+\/mcp \(no token: loopback only\)/);
      const load = await herd.client.callTool({ name: "service_load", arguments: { name: "tty", command: process.execPath, args: [ECHO] } });
      expect(load.isError, text(load)).toBeFalsy();
      // The crash tool exits the child: a warning event, then a restart (info).
      await herd.client.callTool({ name: "tty__crash", arguments: {} }).catch(() => undefined);
      expect(await waitFor(() => /service:tty: crashed/.test(herd.stderr()), 10_000)).toBe(true);
      const crashed = lines().filter((l) => /service:tty: crashed/.test(l));
      expect(crashed).toHaveLength(1);
      expect(crashed[0]).toMatch(/WARN/);
      if (infoShown) {
        expect(await waitFor(() => /service:tty: restarted/.test(herd.stderr()), 10_000)).toBe(true);
        expect(lines().filter((l) => /service:tty: started/.test(l))).toHaveLength(1);
      } else {
        const running = async () => /running/.test(text(await herd.client.callTool({ name: "service_list", arguments: { name: "tty" } })));
        expect(await waitFor(running, 10_000)).toBe(true);
        expect(herd.stderr()).not.toMatch(/service:tty: (started|restarted)/);
        expect(herd.stderr()).not.toMatch(/\bINFO\b.*service:/);
      }
    } finally {
      await herd.close();
    }
  });
});
