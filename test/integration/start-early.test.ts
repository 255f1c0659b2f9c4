import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { alive, allText, CLI, cleanEnv, ROOT, startHerd, waitFor, type Herd } from "../helpers/herd.js";

// mcp-herd starts the config file's command services before its own modules load (start-early.ts);
// the supervisor adopts such a child only when it would start the very same command, and stops the rest.

const ECHO = join(ROOT, "test", "fixtures", "echo-server.mjs");
const dirs: string[] = [];
const herds: Herd[] = [];

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), "herd-early-"));
  dirs.push(dir);
  return dir;
}

// A service that writes its pid before anything else (sh, then exec node: the pid stays the same).
function shEcho(pids: string, ...extra: string[]) {
  return { command: "/bin/sh", args: ["-c", 'echo $$ >> "$PIDS"; exec "$0" "$@"', process.execPath, ECHO, ...extra], env: { PIDS: pids } };
}

function pidsIn(file: string): number[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number) : [];
}

afterEach(async () => {
  await Promise.all(herds.splice(0).map((h) => h.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("configured children start before mcp-herd's modules load", () => {
  it("a command service is started once and adopted: the child serving its tools is the one started early", async () => {
    const dir = tmp();
    const pids = join(dir, "pids");
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ services: { echo: { command: process.execPath, args: [ECHO], env: { FIXTURE_PID_FILE: pids } } } }));
    const herd = await startHerd({ args: ["--config", file, "--log-level", "debug"] });
    herds.push(herd);
    const served = Number(allText((await herd.client.callTool({ name: "echo__pid", arguments: {} })) as never));
    expect(await waitFor(() => herd.stderr().includes("children started early"))).toBe(true);
    expect(herd.stderr()).toContain("children started early: 1 adopted, 0 stopped");
    expect(pidsIn(pids)).toEqual([served]);
  }, 60_000);

  it("an early child no service adopts (its entry is overridden) is stopped; the service runs once", async () => {
    const dir = tmp();
    const pids = join(dir, "pids");
    const file = join(dir, "config.json");
    // `services` wins over a client entry of the same name: the mcpServers one never runs as a service.
    // Both write their pid first thing: the one nobody adopts may be stopped before node would have.
    writeFileSync(file, JSON.stringify({ services: { echo: shEcho(pids) }, mcpServers: { echo: shEcho(pids, "--overridden") } }));
    const herd = await startHerd({ args: ["--config", file, "--log-level", "debug"] });
    herds.push(herd);
    const served = Number(allText((await herd.client.callTool({ name: "echo__pid", arguments: {} })) as never));
    expect(await waitFor(() => herd.stderr().includes("children started early"))).toBe(true);
    expect(herd.stderr()).toContain("children started early: 1 adopted, 1 stopped");
    const started = pidsIn(pids);
    expect(started).toHaveLength(2);
    expect(started).toContain(served);
    const other = started.find((p) => p !== served)!;
    expect(await waitFor(() => !alive(other))).toBe(true);
    expect(alive(served)).toBe(true);
  }, 60_000);

  it("a config file that fails validation ends mcp-herd with exit 2, and the child it started early goes with it", async () => {
    const dir = tmp();
    const pids = join(dir, "pids");
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ services: { echo: shEcho(pids) }, startupWaitSeconds: "soon" }));
    const proc = spawn(process.execPath, [CLI, "--state-dir", dir, "--config", file], { env: cleanEnv(), stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on("exit", (c) => resolve(c)));
    expect(code).toBe(2);
    expect(err).toContain("startupWaitSeconds");
    expect(await waitFor(() => pidsIn(pids).length === 1, 10_000)).toBe(true);
    const [pid] = pidsIn(pids);
    expect(await waitFor(() => !alive(pid!), 10_000)).toBe(true);
  }, 60_000);

  it("SIGKILL of mcp-herd while it still loads leaves no child started early", async () => {
    const dir = tmp();
    const pids = join(dir, "pids");
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ services: { a: shEcho(pids), b: shEcho(pids, "b") } }));
    const proc = spawn(process.execPath, [CLI, "--state-dir", dir, "--config", file], { env: cleanEnv(), stdio: ["pipe", "ignore", "ignore"] });
    // The children write their pid as their first act, while mcp-herd's own modules are still loading.
    expect(await waitFor(() => pidsIn(pids).length === 2, 20_000, 5)).toBe(true);
    proc.kill("SIGKILL");
    await new Promise((resolve) => proc.on("exit", resolve));
    for (const pid of pidsIn(pids)) expect(await waitFor(() => !alive(pid), 10_000)).toBe(true);
  }, 60_000);
});
