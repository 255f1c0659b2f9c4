import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, startHerd, type Herd } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const data = (r: CallToolResult) => (r.structuredContent ?? {}) as Record<string, unknown>;

describe("SSH commands end with their exit status: daemons holding stdout, timeouts that do not grow", () => {
  let dir: string;
  let sshd: Sshd;
  const hubs: Record<string, Herd> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-reach-to-"));
    sshd = await startSshd();
    const config = join(dir, "hub.json");
    writeFileSync(config, JSON.stringify({ hosts: [{ name: "box", ssh: sshd.hostSpec() }] }));
    hubs.agent = await startHerd({ args: ["--config", config], env: { LMCP_HUB_SSH_TIMEOUT: "5" } });
    hubs.plain = await startHerd({ args: ["--config", config], env: { LMCP_HUB_SSH_TIMEOUT: "5", MCP_HERD_SSH_EXEC: "plain" } });
  }, 60_000);
  afterAll(async () => {
    for (const h of Object.values(hubs)) await h.close();
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const timed = async (h: Herd, args: Record<string, unknown>) => {
    const t0 = Date.now();
    const r = (await h.client.callTool({ name: "remote_shell", arguments: { host: "box", ...args } }, undefined, { timeout: 120_000 })) as CallToolResult;
    return { r, ms: Date.now() - t0 };
  };

  it.each(["agent", "plain"])("%s path: a command that leaves a daemon on stdout returns its rc at once, not 'timed out ... killed'", async (path) => {
    const h = hubs[path]!;
    await timed(h, { command: "true" });
    for (let i = 0; i < 3; i++) {
      const { r, ms } = await timed(h, { command: `sleep 9 & echo started-${i}`, timeout: 5 });
      expect(r.isError, text(r)).toBeFalsy();
      expect(data(r)).toMatchObject({ exit_code: 0, timed_out: false, stdout: `started-${i}\n` });
      expect(text(r)).not.toMatch(/timed out|killed/);
      // ~0.1 s expected; under the 5 s timeout (timed_out false says it was not waited out).
      expect(ms).toBeLessThan(4500);
    }
  }, 60_000);

  it.each(["agent", "plain"])("%s path: a 2 s timeout ends each of three calls in a row, none before it", async (path) => {
    const h = hubs[path]!;
    const took: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { r, ms } = await timed(h, { command: "sleep 30", timeout: 2 });
      expect(data(r)).toMatchObject({ timed_out: true, killed: true });
      took.push(ms);
    }
    // Never before the 2 s timeout; ~2 s expected, 20 s is a deadline against a hang (the sleep is 30 s).
    for (const ms of took) {
      expect(ms).toBeGreaterThanOrEqual(1900);
      expect(ms).toBeLessThan(20_000);
    }
  }, 60_000);
});
