import { existsSync, mkdtempSync, symlinkSync, writeFileSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ServiceRegistry } from "../../src/services/registry.js";
import { silentLogger } from "../../src/log.js";
import { alive, fixture, FAST, harness, NODE, text, until, type Harness } from "../fixtures/services-helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const node = (file: string, env: Record<string, string> = {}) => ({ command: NODE, args: [fixture(file)], env });

async function otherStillAnswers(h: Harness): Promise<void> {
  expect(text(await h.registry.call("other", "echo", { message: "still here" }))).toBe("still here");
}

describe("service faults", () => {
  it("a crash mid-call fails the call at once with the exit code and stderr tail, then the service restarts", async () => {
    h = harness();
    await h.registry.load("other", node("echo-server.mjs"));
    const first = await h.registry.load("svc", node("echo-server.mjs"));
    const started = Date.now();
    const err = await h.registry.call("svc", "crash", {}, { timeoutMs: 20_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err?.message).toMatch(/service 'svc' exited \(exit code 3\)/);
    expect(err?.message).toContain("fixture-crash-marker");
    await expect(h.registry.call("svc", "echo", { message: "x" })).rejects.toThrow(/restarting/);
    expect(await until(() => h!.registry.get("svc")!.state === "running", 10_000)).toBe(true);
    const info = h.registry.get("svc")!.info();
    expect(info.pid).not.toBe(first.pid);
    expect(info.restarts).toBe(1);
    expect(info.last_exit?.code).toBe(3);
    expect(alive(first.pid!)).toBe(false);
    expect(text(await h.registry.call("svc", "echo", { message: "back" }))).toBe("back");
    await otherStillAnswers(h);
  });

  it("a call to a child whose stdin is closed (killed a moment ago, its exit not seen yet) says it is gone, not just 'write EPIPE'", async () => {
    h = harness();
    await h.registry.load("other", node("echo-server.mjs"));
    const closed = join(mkdtempSync(join(tmpdir(), "herd-closes-stdin-")), "closed");
    await h.registry.load("svc", node("closes-stdin.mjs", { FIXTURE_CLOSED_FILE: closed }));
    expect(text(await h.registry.call("svc", "close", {}))).toBe("closing stdin");
    // Our next write must find the pipe without a reader (else it sits in the pipe buffer and the call waits).
    expect(await until(() => existsSync(closed), 10_000)).toBe(true);
    const err = await h.registry.call("svc", "close", {}, { timeoutMs: 10_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/service 'svc' is gone during the call to 'close': its stdin is closed \(write EPIPE\), the process exited or closed it/);
    expect(err?.message).toContain("closes-stdin: ready");
    await otherStillAnswers(h);
  });

  it("a crash loop ends in `crashed` and service_restart brings it back", async () => {
    h = harness({ backoffStartMs: 20, backoffMaxMs: 50 });
    await h.registry.load("other", node("echo-server.mjs"));
    await h.registry.load("svc", node("echo-server.mjs", { FIXTURE_EXIT_AFTER_MS: "150" }));
    expect(await until(() => h!.registry.get("svc")!.state === "crashed", 15_000)).toBe(true);
    const svc = h.registry.get("svc")!;
    expect(svc.info().error).toMatch(/6 failures within 120 s/);
    await expect(h.registry.call("svc", "echo", { message: "x" })).rejects.toThrow(/crashed.*service_restart/s);
    await otherStillAnswers(h);
    const after = await h.registry.restart("svc");
    expect(after.status).toBe("running");
  });

  it("a run longer than the stable period resets the crash count and backoff", async () => {
    h = harness({ backoffStartMs: 50, backoffMaxMs: 50, maxCrashes: 2, stableMs: 300 });
    await h.registry.load("svc", node("echo-server.mjs", { FIXTURE_EXIT_AFTER_MS: "700" }));
    expect(await until(() => h!.registry.get("svc")!.restarts >= 4, 15_000)).toBe(true);
    expect(h.registry.get("svc")!.state).not.toBe("crashed");
  });

  it("a hung child (no answer to pings) is killed and restarted", async () => {
    h = harness({ pingIntervalMs: 150, pingTimeoutMs: 300 });
    await h.registry.load("other", node("echo-server.mjs"));
    const first = await h.registry.load("svc", node("hangs-on-call.mjs"));
    expect(text(await h.registry.call("svc", "hang", {}))).toContain("hanging");
    expect(await until(() => h!.registry.get("svc")!.restarts >= 1 && h!.registry.get("svc")!.state === "running", 10_000)).toBe(true);
    expect(h.registry.get("svc")!.info().last_exit?.reason).toMatch(/hung/);
    expect(await until(() => !alive(first.pid!), 5_000)).toBe(true);
    expect(h.registry.logs("svc", 100).some((l) => /did not answer a ping/.test(l.text))).toBe(true);
    await otherStillAnswers(h);
  });

  it("garbage and 1 MiB lines on stdout go to the logs; a 12 MiB line is dropped; the server keeps serving", async () => {
    h = harness();
    await h.registry.load("svc", node("garbage-stdout.mjs"));
    expect(text(await h.registry.call("svc", "echo", {}))).toBe("still fine");
    const logs = h.registry.logs("svc", 1000);
    expect(logs.some((l) => l.stream === "stdout" && l.text === "hello from garbage-stdout")).toBe(true);
    expect(logs.some((l) => l.stream === "stdout" && l.text.startsWith("{not json"))).toBe(true);
    const big = logs.find((l) => l.text.startsWith("xxxx"));
    expect(big?.text.length).toBeLessThan(10_000);
    expect(big?.text).toMatch(/truncated|bytes/);
    expect(text(await h.registry.call("svc", "flood", {}))).toBe("flooded");
    expect(h.registry.logs("svc", 1000).some((l) => /dropped a stdout line of 12582912 bytes/.test(l.text))).toBe(true);
    expect(text(await h.registry.call("svc", "echo", {}))).toBe("still fine");
  });

  it("exit during initialize, no answer to initialize, crash on start and a missing binary end in `failed` with clear messages", async () => {
    h = harness();
    await h.registry.load("other", node("echo-server.mjs"));
    await expect(h.registry.load("exits", node("exits-during-initialize.mjs"))).rejects.toThrow(
      /service 'exits' exited \(exit code 4\) during initialize[\s\S]*got initialize, exiting/,
    );
    expect(h.registry.get("exits")!.state).toBe("failed");
    await expect(h.registry.load("crashy", node("crash-on-start.mjs"))).rejects.toThrow(/exit code 2[\s\S]*missing CONFIG_X/);
    const t0 = Date.now();
    await expect(h.registry.load("silent", { ...node("never-initializes.mjs"), timeout_ms: 800 })).rejects.toThrow(
      /service 'silent' did not answer during initialize within 800 ms/,
    );
    expect(Date.now() - t0).toBeLessThan(8_000);
    await expect(h.registry.load("missing", { command: "/nonexistent/bin/mcp-nothing" })).rejects.toThrow(/cannot start '\/nonexistent\/bin\/mcp-nothing': command not found/);
    await expect(h.registry.load("missing2", { command: "mcp-herd-no-such-command-xyz" })).rejects.toThrow(/command not found/);
    const failed = h.registry.get("missing")!.info();
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(/command not found/);
    await expect(h.registry.call("missing", "echo", {})).rejects.toThrow(/failed to start/);
    await otherStillAnswers(h);
  });
});

describe("no orphans", () => {
  it("unload stops the child and its grandchild; a SIGTERM-ignoring child is killed after the grace period", async () => {
    h = harness({ killGraceMs: 500 });
    await h.registry.load("gc", node("spawns-grandchild.mjs", { FIXTURE_PID_FILE: h.pidFile }));
    const pids = h.pids();
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    await h.registry.unload("gc");
    expect(await until(() => pids.every((p) => !alive(p)), 5_000)).toBe(true);

    const stubborn = await h.registry.load("stubborn", node("ignores-sigterm.mjs"));
    const t0 = Date.now();
    await h.registry.unload("stubborn");
    expect(alive(stubborn.pid!)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(h.registry.list()).toHaveLength(0);
  });

  it("a crash kills the grandchild that kept stdout open, and the call still fails at once", async () => {
    h = harness();
    await h.registry.load("gc", node("spawns-grandchild.mjs", { FIXTURE_PID_FILE: h.pidFile }));
    const [child, grand] = h.pids();
    const t0 = Date.now();
    await expect(h.registry.call("gc", "crash", {}, { timeoutMs: 20_000 })).rejects.toThrow(/exit code 5/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await until(() => !alive(child!) && !alive(grand!), 5_000)).toBe(true);
  });

  it("unload and a new load cancel a service still in its handshake instead of waiting for it", async () => {
    h = harness({ handshakeMs: 30_000, killGraceMs: 500 });
    const slow = h.registry.load("slow", node("never-initializes.mjs")).catch((e: Error) => e);
    expect(await until(() => h!.registry.get("slow")?.pid !== null && h!.registry.get("slow")?.state === "starting", 5_000)).toBe(true);
    const pid = h.registry.get("slow")!.pid!;
    const t0 = Date.now();
    await h.registry.unload("slow");
    expect(alive(pid)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(((await slow) as Error).message).toMatch(/was stopped \(unloaded or replaced\) before it was running/);
    expect(h.registry.get("slow")).toBeUndefined();

    const again = h.registry.load("slow", node("never-initializes.mjs")).catch((e: Error) => e);
    expect(await until(() => h!.registry.get("slow")?.state === "starting", 5_000)).toBe(true);
    const replaced = await h.registry.load("slow", node("echo-server.mjs"));
    expect(((await again) as Error).message).toMatch(/was stopped/);
    expect(replaced.status).toBe("running");
  });

  it("20 parallel load/unload/restart operations on one name never leave two live children", async () => {
    h = harness({ killGraceMs: 500 });
    const spec = node("echo-server.mjs", { FIXTURE_PID_FILE: h.pidFile });
    const ops = Array.from({ length: 20 }, (_, i) =>
      i % 3 === 0 ? h!.registry.load("race", spec) : i % 3 === 1 ? h!.registry.restart("race") : h!.registry.unload("race"),
    );
    await Promise.allSettled(ops);
    await h.registry.load("race", spec);
    const live = h.pids().filter(alive);
    expect(live).toEqual([h.registry.get("race")!.pid]);
    expect(h.pids().length).toBeGreaterThan(3);
  });
});

describe("state file", () => {
  it("remembers loaded services (mode 0600, atomic), reloads them, forgets unloaded ones, never writes through a symlink", async () => {
    h = harness();
    const stateDir = join(h.dir, "state");
    await h.registry.load("keep", node("echo-server.mjs", { TOKENISH: "value-1" }));
    await h.registry.load("drop", node("echo-server.mjs"));
    await h.registry.unload("drop");
    await expect(h.registry.load("bad", { command: "/nonexistent/x" })).rejects.toThrow();
    const file = join(stateDir, "state.json");
    const state = JSON.parse(readFileSync(file, "utf8"));
    expect(Object.keys(state.services)).toEqual(["keep"]);
    expect(state.services.keep.env).toEqual({ TOKENISH: "value-1" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await h.registry.stopAll();

    const again = new ServiceRegistry({ config: { stateDir, services: {}, hosts: [] }, log: silentLogger, timing: FAST });
    try {
      await again.startAll();
      expect(again.get("keep")?.state).toBe("running");
      expect(text(await again.call("keep", "echo", { message: "remembered" }))).toBe("remembered");
      const victim = join(h.dir, "victim.txt");
      writeFileSync(victim, "untouched");
      const { rmSync } = await import("node:fs");
      rmSync(file);
      symlinkSync(victim, file);
      await again.unload("keep");
      expect(readFileSync(victim, "utf8")).toBe("untouched");
      expect(JSON.parse(readFileSync(file, "utf8")).services).toEqual({});
    } finally {
      await again.stopAll();
    }
  });
});
