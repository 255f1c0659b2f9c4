import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  TransportError,
  errorResult,
  resultText,
  textResult,
  type Backend,
  type BackendKind,
  type CallOptions,
  type ToolResult,
} from "../../../src/backends/backend.js";
import { loadConfig } from "../../../src/config.js";
import { silentLogger } from "../../../src/log.js";
import { createHub } from "../../../src/hosts/hub.js";
import { HostUnreachableError } from "../../../src/backends/host-io.js";
import { HostRegistry, type HostDecl } from "../../../src/hosts/registry.js";
import { Router } from "../../../src/hosts/router.js";

type Behaviour = (name: string, args: Record<string, unknown>, opts?: CallOptions) => Promise<ToolResult>;

/** A real in-process backend whose answer the test chooses; it records each call. */
class ScriptedBackend implements Backend {
  calls: Array<{ name: string; args: Record<string, unknown>; opts?: CallOptions }> = [];
  constructor(
    readonly kind: BackendKind,
    public behaviour: Behaviour,
  ) {}
  async listTools() {
    return [];
  }
  async callTool(name: string, args: Record<string, unknown>, opts?: CallOptions) {
    this.calls.push({ name, args, opts });
    return this.behaviour(name, args, opts);
  }
  async close() {}
}

const ok = (kind: string): Behaviour => async (name) => textResult(`${name} ran on ${kind}`, { exit_code: 0, via: "local" });
const down = (why: string, kind: BackendKind): Behaviour => async () => {
  throw new TransportError(why, kind);
};

function setup(peer: Behaviour, ssh: Behaviour, extra: HostDecl[] = []) {
  const backends = { peer: new ScriptedBackend("peer", peer), ssh: new ScriptedBackend("ssh", ssh) };
  const decls: HostDecl[] = [{ name: "box", origin: "test", peer: { url: "http://box/mcp" }, ssh: "box.lan" }, ...extra];
  const registry = new HostRegistry(decls, [], {
    peer: () => backends.peer,
    ssh: () => backends.ssh,
    local: () => new ScriptedBackend("local", ok("local")),
  });
  return { router: new Router(registry, { peerTimeoutMs: 6000, log: silentLogger }), ...backends };
}

describe("Router", () => {
  it("serves from the peer when it answers, and says so in structuredContent", async () => {
    const { router, peer, ssh } = setup(ok("peer"), ok("ssh"));
    const r = await router.call("box", "shell", { command: "true" });
    expect(resultText(r)).toBe("shell ran on peer");
    expect(r.structuredContent).toEqual({ exit_code: 0, via: "peer" });
    expect(r.content).toHaveLength(1);
    expect([peer.calls.length, ssh.calls.length]).toEqual([1, 0]);
  });

  it("falls back to ssh on a transport failure and notes the reason", async () => {
    const { router, ssh } = setup(down("connect ECONNREFUSED 127.0.0.1:1", "peer"), ok("ssh"));
    const r = await router.call("box", "read_file", { path: "/etc/hostname" });
    expect(r.isError).toBeFalsy();
    expect(resultText(r)).toBe("read_file ran on ssh");
    expect(r.structuredContent).toMatchObject({ via: "ssh" });
    expect(JSON.stringify(r.content)).toContain("[via ssh fallback on 'box': peer: connect ECONNREFUSED 127.0.0.1:1]");
    expect(ssh.calls[0]!.args).toEqual({ path: "/etc/hostname" });
  });

  it("treats HostUnreachableError like a transport failure", async () => {
    const { router } = setup(async () => {
      throw new HostUnreachableError("no route");
    }, ok("ssh"));
    expect(resultText(await router.call("box", "shell", { command: "x" }))).toBe("shell ran on ssh");
  });

  it("never falls back on a tool's own isError", async () => {
    const { router, ssh } = setup(async () => errorResult("edit_file: old_string not found in /x"), ok("ssh"));
    const r = await router.call("box", "edit_file", { path: "/x", old_string: "a", new_string: "b" });
    expect(r.isError).toBe(true);
    expect(resultText(r)).toBe("edit_file: old_string not found in /x");
    expect(ssh.calls).toHaveLength(0);
  });

  it("never falls back on an unexpected exception; reports it as a tool error naming the path", async () => {
    const { router, ssh } = setup(async () => {
      throw new Error("boom");
    }, ok("ssh"));
    const r = await router.call("box", "list_dir", {});
    expect(r.isError).toBe(true);
    expect(resultText(r)).toBe("list_dir on host 'box' failed (via peer): boom");
    expect(ssh.calls).toHaveLength(0);
  });

  it("both down: one error naming each path and why", async () => {
    const { router } = setup(down("connect ECONNREFUSED 127.0.0.1:4000", "peer"), down("host key mismatch for box.lan", "ssh"));
    const r = await router.call("box", "shell", { command: "true" });
    expect(r.isError).toBe(true);
    expect(resultText(r)).toBe(
      "shell on host 'box': every path failed: peer: connect ECONNREFUSED 127.0.0.1:4000 | ssh: host key mismatch for box.lan",
    );
  });

  it("an unknown host is refused before any connection, listing the known hosts", async () => {
    const { router, peer, ssh } = setup(ok("peer"), ok("ssh"), [{ name: "local", origin: "built-in", local: true }]);
    const r = await router.call("nope", "shell", { command: "true" });
    expect(r.isError).toBe(true);
    expect(resultText(r)).toMatch(/^unknown host 'nope': known hosts are box, local\./);
    expect(peer.calls.length + ssh.calls.length).toBe(0);
  });

  it("bounds a peer's shell call by the command's timeout plus the peer timeout", async () => {
    const { router, peer } = setup(ok("peer"), ok("ssh"));
    await router.call("box", "shell", { command: "sleep 1", timeout: 10 });
    expect(peer.calls[0]!.opts?.timeoutMs).toBe(16_000);
    await router.call("box", "list_dir", {});
    expect(peer.calls[1]!.opts?.timeoutMs).toBeUndefined();
  });

  it("a cancelled call does not fall back", async () => {
    const ctrl = new AbortController();
    const { router, ssh } = setup(async () => {
      ctrl.abort();
      throw new TransportError("aborted", "peer");
    }, ok("ssh"));
    const r = await router.call("box", "shell", { command: "x" }, { signal: ctrl.signal });
    expect(r.isError).toBe(true);
    expect(resultText(r)).toMatch(/cancelled/);
    expect(ssh.calls).toHaveLength(0);
  });

  it("gives an lmcp text-only shell answer a structuredContent with the exit code", async () => {
    const { router } = setup(async () => textResult("[rc=3]\nsome output\n"), ok("ssh"));
    const r = await router.call("box", "shell", { command: "exit 3" });
    expect(r.structuredContent).toEqual({ via: "peer", exit_code: 3, stdout: "some output\n" });
  });
});

describe("createHub with the real backend factory", () => {
  it("an SSH path that cannot be set up (hostile host string) is a transport failure named in the result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "herd-hub-"));
    try {
      const file = join(dir, "c.json");
      writeFileSync(file, JSON.stringify({ local: false, hosts: [{ name: "bad", ssh: { host: "-oProxyCommand=touch /tmp/pwned" } }] }));
      const hub = createHub(loadConfig({ file, env: {}, flags: {} }), silentLogger);
      expect(hub.registry.names()).toEqual(["bad"]);
      const r = await hub.router.call("bad", "shell", { command: "true" });
      expect(r.isError).toBe(true);
      expect(resultText(r)).toMatch(/^shell on host 'bad': every path failed: ssh: cannot set up ssh for 'bad': invalid ssh host/);
      await hub.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
