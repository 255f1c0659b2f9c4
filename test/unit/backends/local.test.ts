import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync, lstatSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { groupAlive } from "../../../src/backends/child/kill.js";
import { LocalHostIO } from "../../../src/backends/local.js";

let dir: string;
let io: LocalHostIO;
const MiB = 1024 * 1024;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-local-"));
  io = new LocalHostIO({ home: dir });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("LocalHostIO.exec", () => {
  it("runs an argv without a shell, with stdin, env and a cwd relative to home", async () => {
    mkdirSync(join(dir, "sub dir"));
    const r = await io.exec({ argv: ["cat", "-"], stdin: Buffer.from("$(id) `x`\n"), maxOutputBytes: MiB });
    expect(r).toMatchObject({ exit_code: 0, stdout: "$(id) `x`\n", stderr: "", timed_out: false, truncated: false });
    expect(r.killed).toBeUndefined();
    const p = await io.exec({ argv: ["pwd"], cwd: "sub dir", maxOutputBytes: MiB });
    expect(p.stdout).toBe(`${join(dir, "sub dir")}\n`);
    const e = await io.exec({ command: 'printf %s "$X"', env: { X: "a b" }, maxOutputBytes: MiB });
    expect(e.stdout).toBe("a b");
  });

  it("runs in its own process group", async () => {
    const r = await io.exec({ command: "ps -o pgid= -p $$; echo $$", maxOutputBytes: MiB });
    const [pgid, pid] = r.stdout.trim().split(/\s+/).map(Number);
    expect(pgid).toBe(pid);
    expect(pgid).not.toBe(Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")[2]));
  });

  it("fails clearly for a missing working folder or program", async () => {
    await expect(io.exec({ command: "true", cwd: "nope", maxOutputBytes: MiB })).rejects.toThrow(
      `working folder ${join(dir, "nope")} does not exist`,
    );
    await expect(io.exec({ argv: ["no-such-program-xyz"], maxOutputBytes: MiB })).rejects.toThrow(/cannot start no-such-program-xyz/);
    await expect(io.exec({ maxOutputBytes: MiB })).rejects.toThrow(/exactly one of command or argv/);
  });

  it("kills the whole group on timeout, including a child that ignores SIGTERM", async () => {
    const pids = join(dir, "pids");
    const t0 = Date.now();
    const r = await io.exec({
      command: `(trap '' TERM; sleep 30) & sleep 30 & echo $! >> '${pids}'; echo $$ >> '${pids}'; wait`,
      timeoutMs: 500,
      maxOutputBytes: MiB,
    });
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(r).toMatchObject({ timed_out: true, killed: true, stop_unconfirmed: false, exit_code: null });
    const pgid = Number(readFileSync(pids, "utf8").trim().split("\n")[1]);
    expect(groupAlive(pgid)).toBe(false);
  });

  it("stops the group when the call is aborted", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const t0 = Date.now();
    const r = await io.exec({ command: "sleep 30; echo never", maxOutputBytes: MiB }, { signal: ac.signal });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r).toMatchObject({ timed_out: false, killed: true, stdout: "" });
  });

  it("does not wait for a background child that holds the output pipe", async () => {
    const t0 = Date.now();
    const r = await io.exec({ command: "sleep 30 & echo $!", maxOutputBytes: MiB });
    // ~50 ms expected; 10 s is a deadline against a hang and a third of the sleep.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.exit_code).toBe(0);
    process.kill(Number(r.stdout.trim()), "SIGKILL");
  });

  it("streams output to onOutput and bounds each stream", async () => {
    const seen: string[] = [];
    const r = await io.exec(
      { command: "head -c 3000 /dev/zero | tr '\\0' x; head -c 10 /dev/zero | tr '\\0' y >&2", maxOutputBytes: 1000 },
      { onOutput: (c) => seen.push(c.stream) },
    );
    expect(r.truncated).toBe(true);
    expect(r.stdout.startsWith("x".repeat(1000) + "\n[... output truncated: kept the first 1000 of 3000 bytes")).toBe(true);
    expect(r.stderr).toBe("y".repeat(10));
    expect(seen).toContain("stdout");
    expect(seen).toContain("stderr");
  });
});

describe("LocalHostIO.execBg", () => {
  it("starts a session leader that outlives the process that started it", async () => {
    // A separate node process starts the job and exits at once; the job must keep running.
    const script = `
      import { LocalHostIO } from ${JSON.stringify(join(process.cwd(), "src/backends/local.ts"))};
      const r = await new LocalHostIO({ home: ${JSON.stringify(dir)} }).execBg({ command: "sleep 1; echo bye", log: "bg.log" });
      process.stdout.write(JSON.stringify(r));`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      let text = "";
      child.stdout.on("data", (b: Buffer) => (text += b));
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`starter exited ${code}`))));
    });
    const r = JSON.parse(out) as { pid: number; pgid: number; log: string; rc_file: string };
    expect(r.log).toBe(join(dir, "bg.log"));
    const stat = readFileSync(`/proc/${r.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    expect(Number(stat[2])).toBe(r.pid); // process group
    expect(Number(stat[3])).toBe(r.pid); // session
    const until = Date.now() + 10_000;
    while (!readdirSync(dir).includes("bg.log.rc") && Date.now() < until) await new Promise((res) => setTimeout(res, 100));
    await new Promise((res) => setTimeout(res, 100));
    expect(readFileSync(r.rc_file, "utf8")).toBe("0\n");
    expect(readFileSync(r.log, "utf8")).toBe("bye\n");
  });

  it("passes the command as one argument, never into the script", async () => {
    const r = await io.execBg({ command: `echo "$1" '"; touch pwned; "' $(echo ok)`, log: "q'\"$(x).log" });
    const until = Date.now() + 10_000;
    while (!readdirSync(dir).some((n) => n.endsWith(".rc")) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
    await new Promise((res) => setTimeout(res, 100));
    expect(readFileSync(r.log, "utf8")).toBe(` "; touch pwned; " ok\n`);
    expect(readdirSync(dir)).not.toContain("pwned");
  });
});

describe("LocalHostIO files", () => {
  it("writes atomically, keeps the mode, writes through symlinks and appends", async () => {
    const f = join(dir, "f.sh");
    writeFileSync(f, "old");
    chmodSync(f, 0o700);
    symlinkSync("f.sh", join(dir, "link"));
    await io.writeFileAtomic("link", Buffer.from("new"));
    expect(lstatSync(join(dir, "link")).isSymbolicLink()).toBe(true);
    expect(readFileSync(f, "utf8")).toBe("new");
    expect(statSync(f).mode & 0o777).toBe(0o700);
    await io.writeFileAtomic("~/f.sh", Buffer.from("+more"), { append: true });
    expect(readFileSync(f, "utf8")).toBe("new+more");
    expect(readdirSync(dir).sort()).toEqual(["f.sh", "link"]);
  });

  it("leaves no temp file behind when the rename fails", async () => {
    mkdirSync(join(dir, "adir"));
    writeFileSync(join(dir, "adir", "x"), "keep");
    await expect(io.writeFileAtomic("adir", Buffer.from("data"))).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(["adir"]);
  });

  it("stats, lists and reads with a byte bound", async () => {
    writeFileSync(join(dir, "big"), "0123456789");
    expect(await io.stat("nope")).toBeNull();
    expect(await io.stat("big/inner")).toBeNull();
    expect(await io.stat("big")).toMatchObject({ type: "file", size: 10 });
    expect((await io.readFile("big", 4)).toString()).toBe("0123");
    const entries = await io.listDir(".");
    expect(entries).toEqual([expect.objectContaining({ name: "big", type: "file", size: 10 })]);
    expect(await io.home()).toBe(dir);
  });
});

describe("LocalHostIO.close", () => {
  it("stops commands still running", async () => {
    const running = io.exec({ command: "sleep 30", maxOutputBytes: MiB });
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await io.close();
    const r = await running;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r).toMatchObject({ killed: true, exit_code: null });
  });
});
