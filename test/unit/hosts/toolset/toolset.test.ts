import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resultText, TransportError, type Backend, type ToolResult } from "../../../../src/backends/backend.js";
import { LocalHostIO } from "../../../../src/backends/local.js";
import { HostUnreachableError, type HostIO } from "../../../../src/backends/host-io.js";
import { hostBackend } from "../../../../src/hosts/toolset/toolset.js";
import { HOST_TOOL_NAMES, hostToolShapes } from "../../../../src/hosts/toolset/schemas.js";
import { alive } from "../../../helpers/herd.js";

let dir: string;
let io: LocalHostIO;
let host: Backend;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "herd-toolset-"));
  io = new LocalHostIO({ home: dir });
  host = hostBackend(io, "local");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const call = (name: string, args: Record<string, unknown>) => host.callTool(name, args);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary result fields
const data = (r: ToolResult) => r.structuredContent as Record<string, any>;
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

describe("tool list", () => {
  it("lists the seven tools with described fields, all four annotations and output schemas", async () => {
    const tools = await host.listTools();
    expect(tools.map((t) => t.name)).toEqual([...HOST_TOOL_NAMES]);
    for (const t of tools) {
      const props = t.inputSchema.properties as Record<string, { description?: string }>;
      expect(Object.keys(props).sort()).toEqual(Object.keys(hostToolShapes[t.name as "shell"]).sort());
      for (const [k, p] of Object.entries(props)) expect(p.description, `${t.name}.${k}`).toBeTruthy();
      expect(Object.keys(t.annotations ?? {})).toEqual(
        expect.arrayContaining(["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"]),
      );
      expect(t.outputSchema?.type).toBe("object");
      expect(t.inputSchema).not.toHaveProperty("$schema");
    }
    const shell = tools[0]!.inputSchema as { required?: string[] };
    expect(shell.required).toEqual(["command"]);
  });

  it("refuses bad arguments and unknown tools as isError results", async () => {
    const r = await call("read_file", {});
    expect(r.isError).toBe(true);
    expect(resultText(r)).toMatch(/read_file: invalid arguments: path/);
    expect((await call("shell", { command: "true", timeout: 99999 })).isError).toBe(true);
    expect((await call("shell", { command: "true", env: { "A=B": "x" } })).isError).toBe(true);
    expect(resultText(await call("rm_rf", {}))).toMatch(/unknown tool 'rm_rf'/);
  });
});

describe("write_file / read_file", () => {
  const nasty = ["a b.txt", "it's \"quoted\".txt", "$(touch pwned).txt", "`touch pwned2`.txt", "new\nline.txt"];

  it("writes and reads back hostile names and content byte-exact", async () => {
    const content = "line 1 $(id) `id` 'q' \"dq\" \\ back\n\ttab é€😀\n\nno newline at end";
    for (const name of nasty) {
      const w = await call("write_file", { path: name, content });
      expect(w.isError, resultText(w)).toBeFalsy();
      expect(resultText(w)).toBe(`Written ${Buffer.byteLength(content)} bytes to ${join(dir, name)}`);
      expect(readFileSync(join(dir, name), "utf8")).toBe(content);
      const r = await call("read_file", { path: join(dir, name) });
      expect(resultText(r)).toBe(content);
      expect(data(r).content).toBe(content);
      expect(data(r)).toMatchObject({ line_start: 1, line_end: 4, total_lines: 4, size: Buffer.byteLength(content) });
    }
    expect(readdirSync(dir).sort()).toEqual([...nasty].sort());
  });

  it("reads pages by offset/limit and tail and says which lines of how many", async () => {
    writeFileSync(join(dir, "n.txt"), Array.from({ length: 100 }, (_, i) => `L${i + 1}\n`).join(""));
    const page = await call("read_file", { path: "n.txt", offset: 10, limit: 3 });
    expect(data(page).content).toBe("L10\nL11\nL12\n");
    expect(resultText(page)).toMatch(/\[lines 10-12 of 100; \d+ bytes; continue with offset=13\]$/);
    const tail = await call("read_file", { path: "~/n.txt", tail: 2 });
    expect(data(tail)).toMatchObject({ content: "L99\nL100\n", line_start: 99, line_end: 100, total_lines: 100 });
    expect(resultText(await call("read_file", { path: "n.txt", offset: 500 }))).toMatch(/past the end.*100 lines/);
    expect((await call("read_file", { path: "n.txt", tail: 1, offset: 2 })).isError).toBe(true);
  });

  it("pages through a file bigger than it loads, on the host", async () => {
    const big = hostBackend(io, "local", { maxFileBytes: 1000, maxOutputBytes: 200 });
    writeFileSync(join(dir, "big.log"), Array.from({ length: 1000 }, (_, i) => `entry ${i + 1}\n`).join("") + "last");
    const tail = await big.callTool("read_file", { path: "big.log", tail: 3 });
    expect(data(tail)).toMatchObject({ content: "entry 999\nentry 1000\nlast", line_start: 999, line_end: 1001, total_lines: 1001 });
    const mid = await big.callTool("read_file", { path: "big.log", offset: 500, limit: 2 });
    expect(data(mid)).toMatchObject({ content: "entry 500\nentry 501\n", line_start: 500, line_end: 501, total_lines: 1001 });
    expect(resultText(mid)).toMatch(/\[lines 500-501 of 1001; \d+ bytes; continue with offset=502\]$/);
    const long = await big.callTool("read_file", { path: "big.log", offset: 10 });
    expect(data(long).content).toMatch(/^entry 10\n(entry \d+\n)+$/);
    expect(Buffer.byteLength(data(long).content)).toBeLessThanOrEqual(200);
    expect(data(long).truncated).toBe(true);
    const head = await big.callTool("read_file", { path: "big.log" });
    expect(resultText(head)).toMatch(/of at least \d+ \(only the first 1000 B read\)/);
  });

  it("refuses binary files with their size and reports missing files", async () => {
    writeFileSync(join(dir, "bin"), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3, 0xff, 0]));
    const r = await call("read_file", { path: "bin" });
    expect(r.isError).toBe(true);
    expect(resultText(r)).toMatch(/binary.*size 10 bytes/);
    const m = await call("read_file", { path: "nope.txt" });
    expect(m.isError).toBe(true);
    expect(resultText(m)).toContain(`no such file: ${join(dir, "nope.txt")}`);
    expect(resultText(await call("read_file", { path: "." }))).toMatch(/is a folder/);
  });

  it("decodes UTF-16 (BOM and BOM-less) and UTF-8 with BOM", async () => {
    const text = "héllo\r\nwörld\r\n";
    writeFileSync(join(dir, "le.txt"), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]));
    writeFileSync(join(dir, "be.txt"), Buffer.from(text, "utf16le").swap16());
    writeFileSync(join(dir, "bom8.txt"), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    expect(data(await call("read_file", { path: "le.txt" }))).toMatchObject({ content: text, encoding: "utf-16le", bom: true });
    expect(data(await call("read_file", { path: "be.txt" }))).toMatchObject({ content: text, encoding: "utf-16be", bom: false });
    expect(data(await call("read_file", { path: "bom8.txt" }))).toMatchObject({ content: text, encoding: "utf-8", bom: true });
  });

  it("honours expected_sha256, appends, keeps the mode and leaves no temp file", async () => {
    const f = join(dir, "cfg");
    writeFileSync(f, "v1\n");
    chmodSync(f, 0o640);
    const bad = await call("write_file", { path: f, content: "v2\n", expected_sha256: sha("other") });
    expect(bad.isError).toBe(true);
    expect(resultText(bad)).toMatch(new RegExp(`SHA-256 is ${sha("v1\n")}.*nothing was written`));
    expect(readFileSync(f, "utf8")).toBe("v1\n");
    const ok = await call("write_file", { path: f, content: "v2\n", expected_sha256: sha("v1\n").toUpperCase() });
    expect(data(ok)).toMatchObject({ bytes: 3, created: false, sha256: sha("v2\n") });
    await call("write_file", { path: f, content: "more\n", append: true });
    expect(readFileSync(f, "utf8")).toBe("v2\nmore\n");
    expect(statSync(f).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(["cfg"]);
    const noDir = await call("write_file", { path: "missing/x.txt", content: "x" });
    expect(resultText(noDir)).toMatch(/folder .*missing does not exist/);
  });
});

describe("edit_file", () => {
  it("refuses when the match count differs and lists the matching lines", async () => {
    writeFileSync(join(dir, "a.txt"), "foo\nbar\nfoo\nbaz\nfoo\n");
    const r = await call("edit_file", { path: "a.txt", old_string: "foo", new_string: "qux" });
    expect(r.isError).toBe(true);
    expect(resultText(r)).toMatch(/occurs 3 times .*at lines 1, 3, 5\), expected 1/);
    const r2 = await call("edit_file", { path: "a.txt", old_string: "foo", new_string: "qux", expected_replacements: 2 });
    expect(resultText(r2)).toMatch(/occurs 3 times.*expected 2/);
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("foo\nbar\nfoo\nbaz\nfoo\n");
    const all = await call("edit_file", { path: "a.txt", old_string: "foo", new_string: "qux", replace_all: true });
    expect(data(all)).toMatchObject({ replacements: 3, lines: [1, 3, 5] });
    expect(readFileSync(join(dir, "a.txt"), "utf8")).toBe("qux\nbar\nqux\nbaz\nqux\n");
    expect(resultText(await call("edit_file", { path: "a.txt", old_string: "nothere", new_string: "x" }))).toMatch(/not found/);
  });

  it("keeps CRLF, BOM, UTF-16 and mode", async () => {
    const f = join(dir, "w.txt");
    writeFileSync(f, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("one\r\ntwo\r\nthree\r\n", "utf16le")]));
    chmodSync(f, 0o751);
    const r = await call("edit_file", { path: f, old_string: "one\ntwo", new_string: "1\n2\n2b" });
    expect(r.isError, resultText(r)).toBeFalsy();
    const want = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("1\r\n2\r\n2b\r\nthree\r\n", "utf16le")]);
    expect(readFileSync(f).equals(want)).toBe(true);
    expect(statSync(f).mode & 0o777).toBe(0o751);
    expect(readdirSync(dir)).toEqual(["w.txt"]);
  });

  it("dry_run returns a unified diff and writes nothing", async () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}\n`).join("");
    writeFileSync(join(dir, "d.txt"), before);
    const r = await call("edit_file", { path: "d.txt", old_string: "line 10\n", new_string: "LINE TEN\nextra\n", dry_run: true });
    expect(readFileSync(join(dir, "d.txt"), "utf8")).toBe(before);
    const diff = data(r).diff as string;
    expect(diff).toBe(
      [
        `--- a/${join(dir, "d.txt").slice(1)}`,
        `+++ b/${join(dir, "d.txt").slice(1)}`,
        "@@ -7,7 +7,8 @@",
        " line 7",
        " line 8",
        " line 9",
        "-line 10",
        "+LINE TEN",
        "+extra",
        " line 11",
        " line 12",
        " line 13",
        "",
      ].join("\n"),
    );
    expect(resultText(r)).toContain("Dry run, nothing written: 1 replacement(s) at line(s) 10");
    expect(data(r).dry_run).toBe(true);
  });
});

describe("list_dir / search_files", () => {
  beforeEach(() => {
    mkdirSync(join(dir, "src/deep"), { recursive: true });
    mkdirSync(join(dir, ".git"));
    mkdirSync(join(dir, "node_modules/pkg"), { recursive: true });
    writeFileSync(join(dir, "src/main.ts"), "const needle = 1;\n");
    writeFileSync(join(dir, "src/deep/util.ts"), "// no match\nexport const Needle2 = 'needle';\n");
    writeFileSync(join(dir, "src/readme.md"), "needle in docs\n");
    writeFileSync(join(dir, ".git/config.ts"), "needle\n");
    writeFileSync(join(dir, "node_modules/pkg/index.ts"), "needle\n");
  });

  it("lists a folder with type, mode and size", async () => {
    chmodSync(join(dir, "src/main.ts"), 0o600);
    const r = await call("list_dir", { path: "src" });
    const entries = data(r).entries as Array<Record<string, unknown>>;
    expect(entries.map((e) => e.name)).toEqual(["deep", "main.ts", "readme.md"]);
    expect(entries[1]).toMatchObject({ type: "file", size: 18, mode: "-rw-------" });
    expect(resultText(r)).toMatch(/^drwx.* deep\/$/m);
    expect(resultText(await call("list_dir", { path: "src/main.ts" }))).toMatch(/not a folder/);
  });

  it("finds names by glob and substring, skipping .git and node_modules", async () => {
    const g = await call("search_files", { pattern: "*.ts" });
    expect((data(g).matches as Array<{ path: string }>).map((m) => m.path).sort()).toEqual([
      join(dir, "src/deep/util.ts"),
      join(dir, "src/main.ts"),
    ]);
    const s = await call("search_files", { pattern: "UTI", path: "src" });
    expect(data(s).matches).toEqual([{ path: join(dir, "src/deep/util.ts") }]);
    expect(data(s).truncated).toBe(false);
  });

  it("caps results and says so", async () => {
    for (let i = 0; i < 30; i++) writeFileSync(join(dir, `f${i}.log`), "");
    const r = await call("search_files", { pattern: "*.log", max_results: 5 });
    expect(data(r).matches).toHaveLength(5);
    expect(data(r).truncated).toBe(true);
    expect(resultText(r)).toMatch(/stopped at max_results=5/);
  });

  it("searches content with rg when present, else grep, with the same matches", async () => {
    // The machine need is declared (.ci/run installs ripgrep); name it when it is missing.
    const rgOnPath = (process.env.PATH ?? "").split(":").some((d) => d !== "" && existsSync(join(d, "rg")));
    expect(rgOnPath, "ripgrep (rg) is not on PATH: install it (apt-get install ripgrep; .ci/run does)").toBe(true);
    const viaRg = await call("search_files", { pattern: "need+le", content: true, path: "src" });
    expect(data(viaRg).engine).toBe("rg");
    // A PATH without rg: the same search falls back to grep -rn.
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const { symlinkSync } = await import("node:fs");
    for (const tool of ["sh", "bash", "grep", "head", "find"]) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
    const noRg: HostIO = Object.assign(Object.create(io) as HostIO, {
      exec: (req: Parameters<HostIO["exec"]>[0], o?: Parameters<HostIO["exec"]>[1]) =>
        io.exec({ ...req, env: { ...req.env, PATH: bin } }, o),
    });
    const viaGrep = await hostBackend(noRg, "local").callTool("search_files", { pattern: "need+le", content: true, path: "src" });
    expect(data(viaGrep).engine).toBe("grep");
    const sorted = (r: ToolResult) =>
      (data(r).matches as Array<{ path: string; line: number }>).map((m) => `${m.path}:${m.line}`).sort();
    expect(sorted(viaRg)).toEqual([`${join(dir, "src/deep/util.ts")}:2`, `${join(dir, "src/main.ts")}:1`, `${join(dir, "src/readme.md")}:1`]);
    expect(sorted(viaGrep)).toEqual(sorted(viaRg));
    const top = await call("search_files", { pattern: "needle", content: true });
    expect(JSON.stringify(data(top).matches)).not.toMatch(/\.git\/|node_modules/);
  });
});

describe("shell", () => {
  it("prints [rc=N], stdout then stderr, and marks nonzero exits as errors", async () => {
    const r = await call("shell", { command: 'echo "$GREETING"; pwd; echo oops >&2; exit 4', cwd: "~", env: { GREETING: "hi $(x)" } });
    expect(resultText(r)).toBe(`[rc=4]\nhi $(x)\n${dir}\n[stderr]\noops\n`);
    expect(r.isError).toBe(true);
    expect(data(r)).toMatchObject({ exit_code: 4, stdout: `hi $(x)\n${dir}\n`, stderr: "oops\n", via: "local", timed_out: false });
    const ok = await call("shell", { command: "true" });
    expect(ok.isError).toBeFalsy();
    expect(resultText(ok)).toBe("[rc=0]\n");
  });

  it("reports progress while a command writes output", async () => {
    const seen: string[] = [];
    const r = await host.callTool("shell", { command: "echo first; sleep 1.2; echo second" }, { onProgress: (p) => seen.push(p.message ?? "") });
    expect(r.isError).toBeFalsy();
    expect(seen).toContain("first");
    expect(seen).toContain("second");
  });

  it("cuts 10 MiB of output at 1 MiB with a marker on a character boundary", async () => {
    const r = await call("shell", { command: "yes 'é€😀' | head -c 10485760" });
    const d = data(r);
    expect(d.truncated).toBe(true);
    const stdout = d.stdout as string;
    expect(stdout).toMatch(/\[\.\.\. output truncated: kept the first \d+ of 10485760 bytes \.\.\.\]\n$/);
    const body = stdout.slice(0, stdout.lastIndexOf("\n[... output truncated"));
    expect(body).not.toContain("\ufffd");
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1024 * 1024);
    expect(Buffer.byteLength(body)).toBeGreaterThan(1024 * 1024 - 4);
  });

  it("timeout 1 on sleep 30 returns at its timeout and the sleep is gone", async () => {
    const pidFile = join(dir, "pid");
    const t0 = Date.now();
    const r = await call("shell", { command: `sleep 30 & echo $! > '${pidFile}'; wait`, timeout: 1 });
    const took = Date.now() - t0;
    // ~1 s expected; 10 s is a deadline against a hang.
    expect(took).toBeLessThan(10_000);
    expect(data(r)).toMatchObject({ timed_out: true, killed: true, stop_unconfirmed: false });
    expect(resultText(r)).toMatch(/timed out after 1s; process group killed/);
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });
});

describe("shell_bg", () => {
  it("starts a detached job that writes its log and exit code", async () => {
    const r = await call("shell_bg", { command: 'echo started; sleep 1; echo "done $HOME"; exit 7', log: "job log.txt" });
    expect(r.isError, resultText(r)).toBeFalsy();
    const d = data(r);
    expect(d.log).toBe(join(dir, "job log.txt"));
    expect(d.rc_file).toBe(join(dir, "job log.txt.rc"));
    expect(d.pgid).toBe(d.pid);
    expect(resultText(r)).toMatch(new RegExp(`Started PID ${d.pid}`));
    expect(alive(d.pid)).toBe(true);
    const rc = await waitForFile(d.rc_file, 10_000);
    expect(rc.trim()).toBe("7");
    expect(readFileSync(d.log, "utf8")).toBe(`started\ndone ${process.env.HOME}\n`);
  });
});

describe("transport failures", () => {
  it("turns HostUnreachableError into TransportError, other failures into isError", async () => {
    const down: HostIO = Object.assign(Object.create(io) as HostIO, {
      kind: "ssh",
      stat: async () => {
        throw new HostUnreachableError("ssh box: connect ECONNREFUSED 127.0.0.1:2");
      },
    });
    const b = hostBackend(down, "ssh");
    await expect(b.callTool("read_file", { path: "x" })).rejects.toBeInstanceOf(TransportError);
    const broken: HostIO = Object.assign(Object.create(io) as HostIO, {
      stat: async () => {
        throw new Error("EACCES: permission denied");
      },
    });
    const r = await hostBackend(broken, "local").callTool("read_file", { path: "x" });
    expect(r.isError).toBe(true);
    expect(resultText(r)).toBe("read_file failed on local: EACCES: permission denied");
  });
});

async function waitForFile(path: string, ms: number): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const text = readFileSync(path, "utf8");
      if (text.endsWith("\n")) return text;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
