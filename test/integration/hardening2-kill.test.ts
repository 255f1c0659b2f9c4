import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, allText, startHerd, waitFor, type Herd } from "../helpers/herd.js";

describe("a timed-out shell stops what left its process group, and says only what is true", () => {
  let dir: string;
  let herd: Herd;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-kill-"));
    herd = await startHerd();
  });
  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a TERM-ignoring process moved to another group with setsid is killed too, and 'killed' is only claimed once it is gone", async () => {
    const pidFile = join(dir, "setsid.pid");
    const command = `setsid bash -c 'trap "" TERM; echo $$ > "$0"; exec sleep 300' '${pidFile}' & sleep 100`;
    const r = (await herd.client.callTool({ name: "remote_shell", arguments: { host: "local", command, timeout: 1 } }, undefined, { timeout: 60_000 })) as CallToolResult;
    expect(existsSync(pidFile)).toBe(true);
    const pid = Number(readFileSync(pidFile, "utf8"));
    const sc = r.structuredContent as { timed_out: boolean; killed: boolean; stop_unconfirmed: boolean };
    expect(sc.timed_out).toBe(true);
    // The claim is checked against the process itself, right when the answer arrives.
    expect(alive(pid), "result said killed while the setsid process was still running").toBe(!sc.killed);
    expect(sc.killed).toBe(true);
    expect(sc.stop_unconfirmed).toBe(false);
    expect(allText(r)).toMatch(/^\[rc=none\] timed out after 1s; process group killed/);
    if (alive(pid)) process.kill(pid, "SIGKILL");
    expect(await waitFor(() => !alive(pid), 5_000)).toBe(true);
  });
});
