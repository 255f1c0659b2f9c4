import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, startHerd, type Herd } from "../helpers/herd.js";

const data = (r: CallToolResult) => (r.structuredContent ?? {}) as Record<string, unknown>;

describe("one state folder, two mcp-herd processes: job records are never lost", () => {
  let dir: string;
  let stateDir: string;
  let a: Herd;
  let b: Herd;
  const call = async (h: Herd, name: string, args: Record<string, unknown>) =>
    (await h.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-reach-state-"));
    stateDir = join(dir, "state");
    [a, b] = await Promise.all([startHerd({ stateDir }), startHerd({ stateDir })]);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("each starts 20 background jobs at once: all 40 are listed by both afterwards", async () => {
    const start = (h: Herd, tag: string) =>
      Array.from({ length: 20 }, (_, i) => call(h, "remote_shell_bg", { host: "local", command: `echo ${tag}-${i}`, log: join(dir, `${tag}-${i}.log`) }));
    const results = await Promise.all([...start(a, "a"), ...start(b, "b")]);
    for (const r of results) expect(r.isError, text(r)).toBeFalsy();
    const started = results.map((r) => data(r).job as string).sort();
    expect(new Set(started).size).toBe(40);
    for (const h of [a, b]) {
      const list = await call(h, "remote_job_list", {});
      const listed = (data(list).jobs as Array<{ job: string }>).map((j) => j.job).sort();
      expect(listed).toEqual(started);
    }
  });

  it("a corrupt record is skipped and reported; the others stay listed", async () => {
    const file = join(stateDir, "jobs.json");
    const body = JSON.parse(readFileSync(file, "utf8")) as { jobs: unknown[] };
    body.jobs.push({ id: 42, host: null }, "garbage");
    writeFileSync(file, JSON.stringify(body));
    const list = await call(a, "remote_job_list", {});
    expect(list.isError, text(list)).toBeFalsy();
    expect((data(list).jobs as unknown[]).length).toBe(40);
    expect(data(list).problems).toEqual([`${file}: record 41 is not a job record; skipped`, `${file}: record 42 is not a job record; skipped`]);
    expect(text(list)).toContain("[problem]");
    const more = await call(b, "remote_shell_bg", { host: "local", command: "true", log: join(dir, "more.log") });
    expect(more.isError, text(more)).toBeFalsy();
    expect(((await call(a, "remote_job_list", {})).structuredContent as { jobs: unknown[] }).jobs.length).toBe(41);
  });

  it("a file that is not JSON is kept aside as .corrupt and the server goes on", async () => {
    const file = join(stateDir, "jobs.json");
    writeFileSync(file, "{ not json");
    const list = await call(a, "remote_job_list", {});
    expect(list.isError, text(list)).toBeFalsy();
    expect(data(list).jobs).toEqual([]);
    expect((data(list).problems as string[])[0]).toMatch(/is not JSON/);
    const r = await call(b, "remote_shell_bg", { host: "local", command: "true", log: join(dir, "after.log") });
    expect(r.isError, text(r)).toBeFalsy();
    expect(readFileSync(`${file}.corrupt`, "utf8")).toBe("{ not json");
    expect(((await call(a, "remote_job_list", {})).structuredContent as { jobs: unknown[] }).jobs.length).toBe(1);
  });
});
