import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalHostIO } from "../../src/backends/local.js";
import { alive, allText, startHerd, waitFor, type Herd } from "../helpers/herd.js";

describe("file tools never block on a FIFO", () => {
  let dir: string;
  let herd: Herd;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-h2-files-"));
    herd = await startHerd();
  });
  afterAll(async () => {
    await herd?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opening a FIFO for reading returns at once with a refusal (8 at once, more than libuv's 4 file threads)", async () => {
    const fifo = join(dir, "direct.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const io = new LocalHostIO({ home: dir });
    const t0 = Date.now();
    const all = await Promise.allSettled(Array.from({ length: 8 }, () => io.readFile(fifo, 1024)));
    for (const r of all) {
      expect(r.status).toBe("rejected");
      expect(String((r as PromiseRejectedResult).reason)).toMatch(/is not a regular file \(a FIFO\); refused, reading it could block/);
    }
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it("a file swapped for a FIFO between stat and open: every read_file answers and the other file tools keep answering", async () => {
    const target = join(dir, "target");
    writeFileSync(join(dir, "reg"), "regular content\n");
    writeFileSync(join(dir, "other.txt"), "other\n");
    expect(spawnSync("mkfifo", [join(dir, "fifo")]).status).toBe(0);
    writeFileSync(target, "regular content\n");
    // Swaps the path between the regular file and the FIFO as fast as it can (rename is atomic).
    const swapper = spawn("bash", ["-c", 'cd "$1"; while :; do ln -f fifo t1 && mv -f t1 target; ln -f reg t2 && mv -f t2 target; done', "swap", dir], {
      stdio: "ignore",
    });
    try {
      let refused = 0;
      let read = 0;
      for (let round = 0; round < 10; round++) {
        const results = (await Promise.all(
          Array.from({ length: 20 }, () => herd.client.callTool({ name: "remote_read_file", arguments: { host: "local", path: target } }, undefined, { timeout: 20_000 })),
        )) as CallToolResult[];
        for (const r of results) {
          if (r.isError) {
            expect(allText(r)).toMatch(/not a regular file/);
            refused++;
          } else {
            expect(allText(r)).toBe("regular content\n");
            read++;
          }
        }
      }
      expect(read).toBeGreaterThan(0);
      expect(refused).toBeGreaterThan(0);
      const t0 = Date.now();
      const other = (await herd.client.callTool({ name: "remote_read_file", arguments: { host: "local", path: join(dir, "other.txt") } }, undefined, { timeout: 20_000 })) as CallToolResult;
      expect(allText(other)).toBe("other\n");
      const list = (await herd.client.callTool({ name: "remote_list_dir", arguments: { host: "local", path: dir } }, undefined, { timeout: 20_000 })) as CallToolResult;
      expect(allText(list)).toContain("other.txt");
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(alive(herd.pid)).toBe(true);
    } finally {
      swapper.kill("SIGKILL");
    }
    expect(await waitFor(() => !alive(swapper.pid!), 5_000)).toBe(true);
  });
});
