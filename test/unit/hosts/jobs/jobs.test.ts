import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatJobId, parseJobId } from "../../../../src/hosts/jobs/id.js";
import { completeUtf8, firstLinesEnd, lastLinesStart } from "../../../../src/hosts/jobs/jobs.js";
import { JobStore } from "../../../../src/hosts/jobs/store.js";
import { ProgressLines } from "../../../../src/hosts/toolset/progress.js";
import { silentLogger } from "../../../../src/log.js";

describe("job ids", () => {
  it("round-trip host, pid, pgid and a log path that contains colons and spaces", () => {
    const ref = { host: "web-1", pid: 1234, pgid: 1234, log: "/tmp/a b:c/job.log" };
    expect(parseJobId(formatJobId(ref))).toEqual(ref);
  });

  it.each([
    ["web-1:1234:1234:relative.log", /not of the form/],
    ["web-1:1:1:/tmp/x", /bad pid 1/],
    ["web-1:12:99999999:/tmp/x", /bad pgid/],
    ["-x:12:12:/tmp/x", /bad host name/],
    ["web-1:12:12:/tmp/x\n;reboot", /control characters/],
    ["web-1:12:12:/tmp/x\u0000", /control characters/],
    ["web-1:12:12:/tmp/../etc/shadow", /'\.\.'/],
    ["web-1:-12:12:/tmp/x", /not of the form/],
    ["web-1:12:12", /not of the form/],
  ])("refuses %j", (id, re) => {
    const r = parseJobId(id);
    expect("error" in r && r.error).toMatch(re);
  });
});

describe("log slices", () => {
  it("never ends inside a UTF-8 character", () => {
    const euro = Buffer.from("a€", "utf8");
    expect(completeUtf8(euro.subarray(0, 2))).toEqual(Buffer.from("a"));
    expect(completeUtf8(euro.subarray(0, 3))).toEqual(Buffer.from("a"));
    expect(completeUtf8(euro)).toEqual(euro);
    expect(completeUtf8(Buffer.from("😀", "utf8").subarray(0, 3))).toEqual(Buffer.alloc(0));
    expect(completeUtf8(Buffer.from("abc"))).toEqual(Buffer.from("abc"));
  });

  it("finds the first and the last lines by byte index", () => {
    const b = Buffer.from("one\ntwo\nthree\n");
    expect(firstLinesEnd(b, 1)).toBe(4);
    expect(firstLinesEnd(b, 2)).toBe(8);
    expect(firstLinesEnd(b, 9)).toBe(b.length);
    expect(b.subarray(lastLinesStart(b, 1)).toString()).toBe("three\n");
    expect(b.subarray(lastLinesStart(b, 2)).toString()).toBe("two\nthree\n");
    expect(lastLinesStart(b, 5)).toBe(0);
    expect(Buffer.from("x\npartial").subarray(lastLinesStart(Buffer.from("x\npartial"), 1)).toString()).toBe("partial");
    expect(lastLinesStart(Buffer.alloc(0), 3)).toBe(0);
  });
});

describe("JobStore", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("writes jobs.json atomically with mode 0600 and reads it back in a new store", async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-jobstore-"));
    const file = join(dir, "state", "jobs.json");
    const a = new JobStore(file, silentLogger);
    const rec = { id: "local:12:12:/tmp/x", host: "local", pid: 12, pgid: 12, log: "/tmp/x", rc_file: "/tmp/x.rc", command: "sleep 1", started_at: "t" };
    await Promise.all([a.add(rec), a.add({ ...rec, id: "local:13:13:/tmp/y", pid: 13, pgid: 13 })]);
    await a.update(rec.id, { exit_code: 0 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const b = new JobStore(file, silentLogger);
    expect((await b.list()).map((r) => r.id)).toEqual(["local:13:13:/tmp/y", rec.id]);
    expect((await b.get(rec.id))?.exit_code).toBe(0);
    expect(JSON.parse(readFileSync(file, "utf8")).version).toBe(1);
  });

  it("starts empty from a corrupt file", async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-jobstore-"));
    const file = join(dir, "jobs.json");
    writeFileSync(file, "{ not json");
    expect(await new JobStore(file, silentLogger).list()).toEqual([]);
  });
});

describe("ProgressLines", () => {
  it("holds output for the first second, then sends whole lines with increasing progress", async () => {
    const sent: Array<{ progress: number; message?: string }> = [];
    const p = new ProgressLines((x) => sent.push(x));
    p.push("a\nb");
    await new Promise((r) => setTimeout(r, 300));
    expect(sent).toEqual([]);
    await new Promise((r) => setTimeout(r, 1000));
    p.push("c\nd\n");
    p.finish();
    expect(sent.map((s) => s.message).join("\n")).toBe("a\nbc\nd");
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.progress).toBeGreaterThan(sent[i - 1]!.progress);
  });

  it("sends nothing for a command that ends within the first second", () => {
    const sent: unknown[] = [];
    const p = new ProgressLines((x) => sent.push(x));
    p.push("quick\n");
    p.finish();
    expect(sent).toEqual([]);
  });
});
