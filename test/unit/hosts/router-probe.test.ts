import { describe, expect, it } from "vitest";
import { TransportError, errorResult, textResult, type Backend, type BackendKind } from "../../../src/backends/backend.js";
import { silentLogger } from "../../../src/log.js";
import { ProbeCache } from "../../../src/hosts/probe.js";
import { HostRegistry, type HostDecl } from "../../../src/hosts/registry.js";

/** How many probes are in flight at once, across all backends. */
const inFlight = { now: 0, max: 0 };

/** An in-process backend whose reachability the test flips. */
class Switchable implements Backend {
  up = true;
  probes = 0;
  delayMs = 0;
  hang = false;
  constructor(readonly kind: BackendKind) {}
  private async gate() {
    this.probes++;
    inFlight.max = Math.max(inFlight.max, ++inFlight.now);
    try {
      if (this.hang) await new Promise(() => {});
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (!this.up) throw new TransportError(`${this.kind} is down`, this.kind);
    } finally {
      inFlight.now--;
    }
  }
  async listTools() {
    await (this.kind === "ssh" ? Promise.resolve() : this.gate());
    return [{ name: "shell", inputSchema: { type: "object" as const } }];
  }
  async callTool(name: string) {
    await this.gate();
    return name === "shell" ? textResult("[rc=0]\n", { exit_code: 0 }) : errorResult("no");
  }
  async close() {}
}

function setup(names: string[], opts: { ttlMs?: number; peerTimeoutMs?: number } = {}) {
  const clock = { t: 1_000_000 };
  const peers = new Map<string, Switchable>();
  const sshs = new Map<string, Switchable>();
  const decls: HostDecl[] = names.map((name) => ({ name, origin: "test", peer: { url: `http://${name}/mcp` }, ssh: name }));
  const registry = new HostRegistry(decls, [], {
    peer: (_, h) => peers.set(h, new Switchable("peer")).get(h)!,
    ssh: (_, h) => sshs.set(h, new Switchable("ssh")).get(h)!,
    local: () => new Switchable("local"),
  });
  for (const n of names) registry.get(n)!.backends();
  const probes = new ProbeCache(registry, {
    ttlMs: opts.ttlMs ?? 30_000,
    peerTimeoutMs: opts.peerTimeoutMs ?? 1000,
    sshTimeoutMs: 1000,
    log: silentLogger,
    now: () => clock.t,
  });
  return { probes, clock, peer: (n: string) => peers.get(n)!, ssh: (n: string) => sshs.get(n)! };
}

describe("ProbeCache", () => {
  it("reports UP via the peer with tool count and latency, and answers from cache within the TTL", async () => {
    const { probes, clock, peer } = setup(["a"]);
    const [s] = await probes.statuses();
    expect(s).toMatchObject({ name: "a", state: "UP", via: "peer", tool_count: 1, failures: 0 });
    expect(s!.paths.map((p) => [p.kind, p.ok])).toEqual([["peer", true], ["ssh", true]]);
    expect(peer("a").probes).toBe(1);
    clock.t += 29_000;
    await probes.statuses();
    expect(peer("a").probes).toBe(1);
    clock.t += 2_000;
    await probes.statuses();
    expect(peer("a").probes).toBe(2);
    await probes.statuses(true);
    expect(peer("a").probes).toBe(3);
  });

  it("says UP via ssh, with the peer's error, when only ssh answers", async () => {
    const { probes, peer } = setup(["a"]);
    peer("a").up = false;
    const [s] = await probes.statuses();
    expect(s).toMatchObject({ state: "UP", via: "ssh", error: "peer: peer is down" });
  });

  it("goes DOWN only after two failed probes in a row, and UP again on the first success", async () => {
    const { probes, clock, peer, ssh } = setup(["a"]);
    const up = (await probes.statuses())[0]!;
    const upSince = up.since;
    peer("a").up = ssh("a").up = false;
    clock.t += 5_000;
    const once = (await probes.statuses(true))[0]!;
    expect(once).toMatchObject({ state: "UP", failures: 1, since: upSince, error: "peer: peer is down | ssh: ssh is down" });
    clock.t += 5_000;
    const twice = (await probes.statuses(true))[0]!;
    expect(twice).toMatchObject({ state: "DOWN", failures: 2 });
    expect(twice.since).not.toBe(upSince);
    peer("a").up = true;
    clock.t += 5_000;
    const back = (await probes.statuses(true))[0]!;
    expect(back).toMatchObject({ state: "UP", via: "peer", failures: 0 });
    expect(back.since).toBe(new Date(clock.t).toISOString());
  });

  it("a host never seen up is DOWN on its first failure", async () => {
    const { probes, peer, ssh } = setup(["a"]);
    peer("a").up = ssh("a").up = false;
    expect((await probes.statuses())[0]).toMatchObject({ state: "DOWN", failures: 1 });
  });

  it("force probes all hosts in parallel: all four in flight at once, not one after another", async () => {
    const { probes, peer } = setup(["a", "b", "c", "d"]);
    for (const n of ["a", "b", "c", "d"]) peer(n).delayMs = 600;
    inFlight.now = inFlight.max = 0;
    const started = Date.now();
    const all = await probes.statuses(true);
    expect(all.map((s) => s.state)).toEqual(["UP", "UP", "UP", "UP"]);
    // The four peers overlap (the local host is probed too); one after another, at most two would.
    expect(inFlight.max).toBeGreaterThanOrEqual(4);
    // ~0.6 s expected; 6 s is a deadline against a hang.
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it("a path that never answers is DOWN within its bound", async () => {
    const { probes, peer, ssh } = setup(["a"], { peerTimeoutMs: 200 });
    peer("a").hang = true;
    ssh("a").up = false;
    const [s] = await probes.statuses();
    expect(s).toMatchObject({ state: "DOWN" });
    expect(s!.error).toMatch(/peer: no answer within 1.2s/);
  });

  it("joins concurrent probes of one host", async () => {
    const { probes, peer } = setup(["a"]);
    peer("a").delayMs = 100;
    await Promise.all([probes.probe("a"), probes.probe("a"), probes.statuses(true)]);
    expect(peer("a").probes).toBe(1);
  });
});
