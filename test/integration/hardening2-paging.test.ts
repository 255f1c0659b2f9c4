import { appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText, startHerd, type Herd } from "../helpers/herd.js";

/** Two short lines, a hole of NUL bytes up to `size` (one giant line ending in "near end"), then "last line". */
function sparse(path: string, size: number): void {
  writeFileSync(path, "first line\nsecond\n");
  truncateSync(path, size);
  appendFileSync(path, "near end\nlast line\n");
}

describe("paging a sparse file far over the 16 MiB load bound", () => {
  let dir: string;
  let herd: Herd;
  const read = async (path: string, args: Record<string, unknown>) =>
    (await herd.client.callTool({ name: "remote_read_file", arguments: { host: "local", path, ...args } }, undefined, { timeout: 90_000 })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-paging-"));
    herd = await startHerd();
  });
  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("2 GB: tail 3 answers the right lines (no TypeError), stopping before the giant line with where to continue", { timeout: 180_000 }, async () => {
    const path = join(dir, "2g.bin");
    sparse(path, 2 * 1024 ** 3);
    const r = await read(path, { tail: 3 });
    expect(r.isError, allText(r)).toBeFalsy();
    expect(allText(r)).toBe("second\n[lines 2-2 of 4; 2147483667 bytes; continue with offset=3]");
  });

  it("256 MiB: tail 1 is the last line, and following 'continue with offset' walks every line once, the giant one cut", { timeout: 180_000 }, async () => {
    const path = join(dir, "256m.bin");
    sparse(path, 256 * 1024 ** 2);
    expect(allText(await read(path, { tail: 1 }))).toMatch(/^last line\n\[lines 4-4 of 4; /);
    const seen: string[] = [];
    let offset = 1;
    for (let step = 0; step < 8 && offset <= 4; step++) {
      const r = await read(path, { offset, limit: 1 });
      expect(r.isError, allText(r)).toBeFalsy();
      const sc = r.structuredContent as { line_start: number; line_end: number; content: string; truncated: boolean };
      expect(sc.line_start, `offset ${offset}`).toBe(offset);
      seen.push(sc.content.slice(0, 12));
      if (offset === 3) {
        expect(sc.truncated).toBe(true);
        expect(allText(r)).toMatch(/cut at 1\.0 MiB; continue with offset=4\]$/);
      }
      offset = sc.line_end + 1;
    }
    expect(offset, "paging did not reach the end").toBe(5);
    expect(seen).toEqual(["first line\n", "second\n", "\u0000".repeat(12), "last line\n"]);
  });
});
