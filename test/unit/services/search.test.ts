import { describe, expect, it } from "vitest";
import type { ToolInfo } from "../../../src/backends/backend.js";
import { remoteTools, specForPeer, stripToolPrefix } from "../../../src/services/remote-wire.js";
import { RestartPolicy } from "../../../src/services/restart-policy.js";
import { timingFromEnv } from "../../../src/services/registry.js";
import { searchTools } from "../../../src/services/search.js";
import { whyNotRunning } from "../../../src/services/service-status.js";
import { DEFAULT_TIMING } from "../../../src/services/service-types.js";

const tool = (name: string, description: string): ToolInfo => ({ name, description, inputSchema: { type: "object", properties: { q: { type: "string" } } } });

const services = [
  { name: "files", host: "local", tools: [tool("read_file", "Reads a text file."), tool("write_file", "Writes a file."), tool("stat", "Reads file metadata.")] },
  { name: "web", host: "b", tools: [tool("fetch", "Fetches a URL and reads the page.")] },
];

describe("service_tools search", () => {
  it("needs every word, in the name or the description, case-insensitive; name hits rank first", () => {
    expect(searchTools(services, "read FILE").map((m) => `${m.service}/${m.tool.name}`)).toEqual(["files/read_file", "files/stat"]);
    expect(searchTools(services, "reads").map((m) => m.tool.name)).toEqual(["read_file", "stat", "fetch"]);
    expect(searchTools(services, "web__").map((m) => m.host)).toEqual(["b"]);
    expect(searchTools(services, "read nothing")).toEqual([]);
  });

  it("without a query lists every tool, by service then name", () => {
    expect(searchTools(services, undefined).map((m) => m.tool.name)).toEqual(["read_file", "stat", "write_file", "fetch"]);
    expect(searchTools(services, "  ").length).toBe(4);
  });
});

describe("talking to a peer mcp-herd", () => {
  it("passes only the keys the peer's service_load takes (never host, type, disabled)", () => {
    expect(specForPeer({ command: "node", args: ["x"], env: { A: "1" }, host: "b", type: "stdio", disabled: false, timeout_ms: 5 })).toEqual({
      command: "node",
      args: ["x"],
      env: { A: "1" },
      timeout_ms: 5,
    });
  });

  it("reads service_tools matches back into tools with their schemas, and strips proxied prefixes", () => {
    const tools = remoteTools({
      tools: [{ tool: "add", description: "Adds.", input_schema: { type: "object", required: ["a"] }, output_schema: { type: "object" }, title: "Add" }],
    });
    expect(tools).toEqual([{ name: "add", description: "Adds.", inputSchema: { type: "object", required: ["a"] }, outputSchema: { type: "object" }, title: "Add" }]);
    expect(remoteTools(undefined)).toEqual([]);
    const stripped = stripToolPrefix("svc", [tool("svc__echo", "[svc] Echoes."), tool("other__echo", "[other] x"), tool("service_list", "y")]);
    expect(stripped.map((t) => [t.name, t.description])).toEqual([["echo", "Echoes."]]);
  });
});

describe("restart policy", () => {
  it("doubles the delay up to the cap and gives up after more than maxCrashes within the window", () => {
    const p = new RestartPolicy({ ...DEFAULT_TIMING, backoffStartMs: 100, backoffMaxMs: 400, maxCrashes: 3 });
    const verdicts = [0, 1, 2, 3].map((i) => p.failed(1000 + i, undefined));
    expect(verdicts).toEqual([
      { giveUp: false, delayMs: 100 },
      { giveUp: false, delayMs: 200 },
      { giveUp: false, delayMs: 400 },
      { giveUp: true, failures: 4 },
    ]);
  });

  it("with the defaults (no knob set) waits 1 s doubling to 30 s and gives up on the 6th crash within 2 min", () => {
    expect(timingFromEnv({})).toEqual({});
    const burst = new RestartPolicy(DEFAULT_TIMING);
    const verdicts = [0, 1, 2, 3, 4, 5].map((i) => burst.failed(i * 1000, undefined));
    expect(verdicts).toEqual([
      { giveUp: false, delayMs: 1_000 },
      { giveUp: false, delayMs: 2_000 },
      { giveUp: false, delayMs: 4_000 },
      { giveUp: false, delayMs: 8_000 },
      { giveUp: false, delayMs: 16_000 },
      { giveUp: true, failures: 6 },
    ]);
    // Crashes spaced wider than the 2 min window never give up; the delay stops doubling at 30 s.
    const spaced = new RestartPolicy(DEFAULT_TIMING);
    const delays = [0, 1, 2, 3, 4, 5, 6].map((i) => spaced.failed(i * 121_000, undefined));
    expect(delays.map((v) => ("delayMs" in v ? v.delayMs : "gave up"))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    // Five crashes 2 min apart minus a second are still inside one window: the 6th gives up.
    const edge = new RestartPolicy(DEFAULT_TIMING);
    const last = [0, 1, 2, 3, 4, 5].map((i) => edge.failed(i * 23_000, undefined)).at(-1);
    expect(last).toEqual({ giveUp: true, failures: 6 });
  });

  it("a run of exactly the stable period resets; a failure exactly one window old is forgotten", () => {
    const t = { ...DEFAULT_TIMING, backoffStartMs: 100, maxCrashes: 1, crashWindowMs: 1000, stableMs: 500 };
    const stable = new RestartPolicy(t);
    expect(stable.failed(0, undefined)).toEqual({ giveUp: false, delayMs: 100 });
    expect(stable.failed(900, 400)).toEqual({ giveUp: false, delayMs: 100 });
    const short = new RestartPolicy(t);
    short.failed(0, undefined);
    expect(short.failed(900, 401)).toEqual({ giveUp: true, failures: 2 });
    const windowed = new RestartPolicy(t);
    windowed.failed(0, undefined);
    expect(windowed.failed(1000, undefined)).toEqual({ giveUp: false, delayMs: 200 });
    const inside = new RestartPolicy(t);
    inside.failed(0, undefined);
    expect(inside.failed(999, undefined)).toEqual({ giveUp: true, failures: 2 });
  });

  it("forgets failures older than the window, and everything after a stable run", () => {
    const t = { ...DEFAULT_TIMING, backoffStartMs: 100, maxCrashes: 1, crashWindowMs: 1000, stableMs: 500 };
    const p = new RestartPolicy(t);
    expect(p.failed(0, undefined)).toEqual({ giveUp: false, delayMs: 100 });
    expect(p.failed(2000, undefined)).toEqual({ giveUp: false, delayMs: 200 });
    expect(p.failed(2100, 1500)).toEqual({ giveUp: false, delayMs: 100 });
  });
});

describe("refusal messages", () => {
  it("name the service, its host, the state and the next step", () => {
    expect(whyNotRunning({ name: "s", host: "local", state: "crashed", error: "6 failures" })).toBe(
      "service 's' is crashed: 6 failures. See service_logs, then call service_restart",
    );
    expect(whyNotRunning({ name: "s", host: "b", state: "unreachable", error: "host 'b' does not answer (ECONNREFUSED)" })).toMatch(
      /^service 's' on host 'b' cannot be reached: host 'b' does not answer \(ECONNREFUSED\)\. It is kept and answers again when the host is back/,
    );
    expect(whyNotRunning({ name: "s", host: "local", state: "restarting", nextAttemptAt: Date.now() + 2500, lastExit: { code: 1, signal: null, reason: "exit code 1", at: "" } })).toBe(
      "service 's' is restarting after a failure (last: exit code 1); next attempt in ~3 s. See service_logs for its output",
    );
  });
});
