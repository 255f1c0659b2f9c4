import { describe, expect, it } from "vitest";
import { fanOut, foldedText, summarize, type HostOutcome } from "../../../../src/hosts/fanout/fanout.js";
import { checkGroups, globToRegExp, isMultiSelector, selectHosts } from "../../../../src/hosts/fanout/select.js";

const KNOWN = ["db-1", "local", "web-1", "web-2", "web-10"];
const GROUPS = { web: ["web-1", "web-2"], all: ["*"], odd: ["web-?", "db-1"] };

describe("selectHosts", () => {
  it.each([
    ["web-1", { kind: "single", name: "web-1" }],
    ["unknown-one", { kind: "single", name: "unknown-one" }],
    [" web-1 ", { kind: "single", name: "web-1" }],
    ["web-1,local", { kind: "many", names: ["web-1", "local"] }],
    ["web-1, web-1 ,local,", { kind: "many", names: ["web-1", "local"] }],
    ["web-*", { kind: "many", names: ["web-1", "web-10", "web-2"] }],
    ["web-?", { kind: "many", names: ["web-1", "web-2"] }],
    ["web-[12]", { kind: "many", names: ["web-1", "web-2"] }],
    ["web-[!1]", { kind: "many", names: ["web-2"] }],
    ["*", { kind: "many", names: [...KNOWN].sort() }],
    ["web", { kind: "many", names: ["web-1", "web-2"] }],
    ["odd,local", { kind: "many", names: ["web-1", "web-2", "db-1", "local"] }],
  ])("%j -> %j", (sel, want) => {
    expect(selectHosts(sel, KNOWN, GROUPS)).toEqual(want);
  });

  it.each([
    ["mail-*", /no host matches 'mail-\*'/],
    ["web-1,nope", /unknown host 'nope'.*known hosts are db-1, local/],
    [",", /names no host/],
  ])("%j is an error: %s", (sel, re) => {
    const r = selectHosts(sel, KNOWN, GROUPS);
    expect(r.kind).toBe("error");
    expect((r as { message: string }).message).toMatch(re);
  });

  it("names the group and the member when a group names no host", () => {
    const r = selectHosts("bad", KNOWN, { bad: ["web-1", "ghost"] });
    expect(r).toEqual({ kind: "error", message: expect.stringMatching(/group 'bad' names 'ghost', which is no host/) });
  });

  it("treats regex characters in names literally", () => {
    expect(globToRegExp("a.b*").test("a.bc")).toBe(true);
    expect(globToRegExp("a.b*").test("axbc")).toBe(false);
    expect(globToRegExp("web-[").test("web-[")).toBe(true);
    expect(isMultiSelector("web-1", {})).toBe(false);
    expect(isMultiSelector("web", { web: ["x"] })).toBe(true);
  });
});

describe("checkGroups", () => {
  it("reports unknown members, empty groups, and groups named like a host", () => {
    const problems = checkGroups({ web: ["web-1", "ghost"], local: ["web-1"], empty: [], "bad name!": ["web-1"] }, KNOWN);
    expect(problems.join("\n")).toMatch(/group 'web': 'ghost' is no host/);
    expect(problems.join("\n")).toMatch(/group 'local' has the name of a host/);
    expect(problems.join("\n")).toMatch(/group 'empty' has no members/);
    expect(problems.join("\n")).toMatch(/group 'bad name!': bad name/);
    expect(checkGroups(GROUPS, KNOWN)).toEqual([]);
  });
});

describe("fanOut", () => {
  it("runs at most `parallel` at once, keeps order, and turns a throw into that host's failure", async () => {
    let inFlight = 0;
    let most = 0;
    const names = Array.from({ length: 10 }, (_, i) => `h${i}`);
    const results = await fanOut(names, 3, async (host) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      if (host === "h4") throw new Error("boom");
      return { host, ok: true, status: "ok", duration_ms: 20 };
    });
    expect(most).toBe(3);
    expect(results.map((r) => r.host)).toEqual(names);
    expect(results[4]).toMatchObject({ host: "h4", ok: false, status: "failed", error: "boom" });
    expect(results.filter((r) => r.ok)).toHaveLength(9);
  });
});

describe("summary and folded text", () => {
  const results: HostOutcome[] = [
    { host: "a", ok: true, status: "ok", exit_code: 0, stdout: "same\n", stderr: "", duration_ms: 1 },
    { host: "b", ok: false, status: "failed", exit_code: 2, stdout: "", stderr: "bad\n", duration_ms: 1 },
    { host: "c", ok: true, status: "ok", exit_code: 0, stdout: "same\n", stderr: "", duration_ms: 1 },
    { host: "d", ok: false, status: "down", error: "ssh: connect ECONNREFUSED", duration_ms: 1 },
  ];

  it("counts ok, failed and down and finds the worst exit status", () => {
    expect(summarize(results)).toEqual({ summary: "2 ok, 1 failed, 1 down", host_count: 4, ok_count: 2, failed_count: 1, down_count: 1, worst_exit_code: 2 });
    expect(summarize([]).worst_exit_code).toBeNull();
  });

  it("shows identical outputs once with every host that produced them (dshbak -c)", () => {
    const t = foldedText(results);
    expect(t).toBe(
      [
        "2 ok, 1 failed, 1 down (4 hosts)",
        "worst exit status: 2",
        "----------------",
        "a,c [rc=0]",
        "----------------",
        "same",
        "----------------",
        "b [rc=2] failed",
        "----------------",
        "[stderr]",
        "bad",
        "----------------",
        "d DOWN",
        "----------------",
        "ssh: connect ECONNREFUSED",
        "",
      ].join("\n"),
    );
  });
});
