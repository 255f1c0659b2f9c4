import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, allText, startHerd, waitFor, type Herd } from "../helpers/herd.js";

const LINES = 4000;
const EDITS = 30;

describe("edit_file never loses a concurrent writer's lines", () => {
  let dir: string;
  let herd: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-edit-"));
    herd = await startHerd();
  });
  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("30 edits (3 at a time) while another process appends 4000 lines: every line and every edit is in the file", async () => {
    const file = join(dir, "log.txt");
    writeFileSync(file, Array.from({ length: EDITS }, (_, i) => `slot-${i} todo\n`).join(""));
    const appender = spawn("bash", ["-c", 'for i in $(seq 1 "$2"); do echo "appended $i" >> "$1"; done', "append", file, String(LINES)], { stdio: "ignore" });
    const appended = new Promise<number | null>((r) => appender.once("exit", r));
    const results: CallToolResult[] = [];
    try {
      for (let i = 0; i < EDITS; i += 3) {
        const batch = [i, i + 1, i + 2].map(
          (k) =>
            herd.client.callTool(
              { name: "remote_edit_file", arguments: { host: "local", path: file, old_string: `slot-${k} todo`, new_string: `slot-${k} done` } },
              undefined,
              { timeout: 30_000 },
            ) as Promise<CallToolResult>,
        );
        results.push(...(await Promise.all(batch)));
      }
    } finally {
      expect(await appended).toBe(0);
    }
    const text = readFileSync(file, "utf8");
    const lines = text.split("\n").filter((l) => l.startsWith("appended "));
    expect(lines.length, "appended lines lost or doubled").toBe(LINES);
    expect(new Set(lines).size).toBe(LINES);
    for (const [k, r] of results.entries()) {
      if (r.isError) expect(allText(r)).toMatch(/kept changing while it was being edited .* nothing was written/);
      else expect(text).toContain(`slot-${k} done`);
      if (r.isError) expect(text).toContain(`slot-${k} todo`);
    }
    expect(results.filter((r) => !r.isError).length).toBeGreaterThan(EDITS / 2);
    expect(alive(herd.pid)).toBe(true);
    expect(await waitFor(() => !alive(appender.pid!), 5_000)).toBe(true);
  });
});
