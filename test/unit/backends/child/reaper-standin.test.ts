import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { alive } from "../../../helpers/herd.js";
import { DetachedProcs, runStandIn } from "../../../helpers/proc.js";
// Loaded here too: a mutation run (vitest "related") runs only the tests whose module graph holds the mutated file.
import "../../../../src/backends/child/reaper.js";

// The reaper as mcp-herd uses it, in a stand-in process (under a mutation run, with the active mutant).
const REAPER = fileURLToPath(new URL("../../../../src/backends/child/reaper.ts", import.meta.url));
const imp = `import { unwatchGroup, watchGroup } from ${JSON.stringify(REAPER)};\n`;

let dir: string;
const procs = new DetachedProcs();
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-reaper-standin-"));
});
afterEach(() => {
  procs.killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("the sh watchdog, seen from its mcp-herd", () => {
  it("does not keep mcp-herd running: once nothing else is left, mcp-herd exits by itself, and so do the watched trees", async () => {
    const child = await procs.node("");
    const run = await runStandIn(dir, imp + `watchGroup(${child.pid}); watchGroup(${child.pid}, "00ff"); unwatchGroup(12345678); report("watched");`, { timeoutMs: 15_000 });
    // ~0.5 s expected; a watchdog that holds mcp-herd's event loop makes it run until the 15 s deadline kills it.
    expect(run.signal, run.stderr).toBe(null);
    expect(run.code, run.stderr).toBe(0);
    expect(run.result).toBe("watched");
    // Its exit closed the pipe: the watchdog stops the group it was watching.
    const end = Date.now() + 10_000;
    while (alive(child.pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(alive(child.pid), "the watched group after mcp-herd exited").toBe(false);
  }, 60_000);

  it("a watchdog that cannot start (/bin/sh not executable) is not an error: watching and forgetting go on without it", async () => {
    const run = await runStandIn(
      dir,
      imp +
        `watchGroup(4242); await new Promise((r) => setTimeout(r, 200));\n` +
        `watchGroup(4243, "00ff"); unwatchGroup(4242); await new Promise((r) => setTimeout(r, 200));\n` +
        `report("survived");`,
      { hide: ["/bin/sh"], timeoutMs: 15_000 },
    );
    expect(run.result, run.stderr).toBe("survived");
    expect(run.code, run.stderr).toBe(0);
  }, 60_000);

  it("a watchdog that died unnoticed (its pipe broken: EPIPE on the next write) is not an error, and the next watch starts a new one", async () => {
    const run = await runStandIn(
      dir,
      imp +
        `import { readdirSync, readFileSync } from "node:fs";\n` +
        `const stat = (p: string) => { try { const t = readFileSync("/proc/" + p + "/stat", "latin1"); return t.slice(t.lastIndexOf(")") + 2).split(" "); } catch { return []; } };\n` +
        `const dogs = () => readdirSync("/proc").filter((e) => /^\\d+$/.test(e) && stat(e)[1] === String(process.pid) && stat(e)[0] !== "Z" && readFileSync("/proc/" + e + "/cmdline", "latin1").includes("trap ''")).map(Number);\n` +
        `watchGroup(4242);\n` +
        `for (let i = 0; i < 200 && dogs().length === 0; i++) await new Promise((r) => setTimeout(r, 25));\n` +
        `const [first] = dogs();\n` +
        // Killed and dead before this tick ends, so that Node has not yet seen the exit and still writes into the pipe.
        `process.kill(first!, "SIGKILL"); const until = Date.now() + 300; while (Date.now() < until && stat(String(first))[0] !== "Z");\n` +
        `const dead = stat(String(first))[0] === "Z";\n` +
        `watchGroup(4243); unwatchGroup(4242); await new Promise((r) => setTimeout(r, 300));\n` +
        `watchGroup(4244); for (let i = 0; i < 200 && dogs().length === 0; i++) await new Promise((r) => setTimeout(r, 25));\n` +
        `const next = dogs(); report({ dead, next: next.length === 1 && next[0] !== first }); unwatchGroup(4243); unwatchGroup(4244);`,
      { timeoutMs: 15_000 },
    );
    expect(run.result, run.stderr).toEqual({ dead: true, next: true });
    expect(run.code, run.stderr).toBe(0);
  }, 60_000);
});
