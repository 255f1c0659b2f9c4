import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allText as text, startHerd, type Herd } from "../helpers/herd.js";
import { startPeerHerd, type PeerProc } from "../helpers/peers.js";
import { stopProc } from "../helpers/proc.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const PEER_TOKEN = "files-peer-token-0123456789abcdef";

/** A 1 MiB text holding every awkward thing a shell or a quoting layer could trip on. */
function awkward1MiB(): string {
  const piece = "line 'single' \"double\" $(touch X) `touch X` ${HOME} \\ \\n %s %% \t tab é ü 中 😀 \r\n";
  return piece.repeat(Math.ceil((1024 * 1024) / Buffer.byteLength(piece)));
}

describe("remote file tools: hostile paths and contents, byte-exact or clearly refused, over local, SSH and the peer", () => {
  let dir: string;
  let sshd: Sshd;
  let peer: PeerProc;
  let hub: Herd;
  const call = async (name: string, args: Record<string, unknown>) =>
    (await hub.client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 })) as CallToolResult;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-hard-files-"));
    sshd = await startSshd();
    peer = await startPeerHerd({ stateDir: join(dir, "peer-state"), token: PEER_TOKEN });
    const ssh = sshd.hostSpec();
    const config = join(dir, "hub.json");
    writeFileSync(config, JSON.stringify({ hosts: [{ name: "sshbox", ssh }, { name: "peerbox", peer: { url: peer.url, token: PEER_TOKEN } }] }));
    hub = await startHerd({ args: ["--config", config] });
  });
  afterAll(async () => {
    await hub?.close();
    if (peer) await stopProc(peer.proc);
    await sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ["local", "local"],
    ["sshbox", "ssh"],
    ["peerbox", "peer"],
  ])("%s: names and contents with quotes, $(), backticks, newlines and 1 MiB round-trip byte-exact; NUL is refused; no temp file is left", async (host, via) => {
    const base = join(dir, host, "sub 'q' $(x) `y`\nnl");
    mkdirSync(base, { recursive: true });
    const names = ["q'uote\"d", "$(touch X)", "`touch X`", "new\nline", " lead and trail ", "-rf", "é ü 中", "semi;colon&amp|pipe", "*?[glob]"];
    const contents = ["", "x $(touch X) `touch X` 'q' \"dq\"\n", "no newline at end", "\r\nCRLF\r\n", "tab\tand\\backslash\\n", "\u00e9\u00fc \u4e2d \ud83d\ude00\n"];
    let i = 0;
    for (const name of names) {
      const content = contents[i++ % contents.length]!;
      const path = join(base, name);
      const w = await call("remote_write_file", { host, path, content });
      expect(w.isError, `${name}: ${text(w)}`).toBeFalsy();
      expect((w.structuredContent as { via?: string }).via).toBe(via);
      expect(readFileSync(path, "utf8") === content, name).toBe(true);
      const r = await call("remote_read_file", { host, path });
      expect(r.isError, text(r)).toBeFalsy();
      expect((r.structuredContent as { content: string }).content === content, `read back ${name}`).toBe(true);
    }
    const big = join(base, "big");
    const mib = awkward1MiB();
    const w = await call("remote_write_file", { host, path: big, content: mib });
    expect(w.isError, text(w)).toBeFalsy();
    expect(readFileSync(big).equals(Buffer.from(mib))).toBe(true);
    const tail = await call("remote_read_file", { host, path: big, tail: 2 });
    expect((tail.structuredContent as { content: string }).content).toBe(mib.split("\n").slice(-3).join("\n"));

    for (const path of [join(base, "nul\0byte"), `${base}\0/../../etc/passwd`]) {
      for (const [tool, extra] of [
        ["remote_write_file", { content: "x" }],
        ["remote_read_file", {}],
        ["remote_edit_file", { old_string: "a", new_string: "b" }],
        ["remote_list_dir", {}],
      ] as const) {
        const r = await call(tool, { host, path, ...extra });
        expect(r.isError, `${tool} with NUL: ${text(r)}`).toBe(true);
        expect(text(r), tool).toMatch(/NUL|null byte|\\0|control character/i);
      }
    }
    for (const where of [base, dir, homedir(), process.cwd()]) expect(existsSync(join(where, "X")), where).toBe(false);
    expect(readdirSync(base).sort()).toEqual([...names, "big"].sort());
    expect(readdirSync(base).filter((n) => /tmp|\.mcp-herd|~$/i.test(n))).toEqual([]);
  });

  it.each(["local", "sshbox", "peerbox"])("%s: a reader never sees a half-written file (temp + rename)", async (host) => {
    const path = join(dir, `atomic-${host}.txt`);
    const a = "a".repeat(2 * 1024 * 1024);
    const b = "b".repeat(2 * 1024 * 1024);
    writeFileSync(path, a);
    let stop = false;
    const seen = new Set<string>();
    const reader = (async () => {
      while (!stop) {
        const s = readFileSync(path, "latin1");
        seen.add(s === a ? "a" : s === b ? "b" : `torn ${s.length} ${s[0]}..${s[s.length - 1]}`);
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let n = 0; n < 6; n++) {
      const r = await call("remote_write_file", { host, path, content: n % 2 ? a : b });
      expect(r.isError, text(r)).toBeFalsy();
    }
    stop = true;
    await reader;
    expect([...seen].filter((s) => s.startsWith("torn"))).toEqual([]);
    // Temp files are dot-prefixed siblings (".atomic-<host>.txt.*.tmp"): none may be left beside the file.
    expect(readdirSync(dir).filter((n) => n.includes(`atomic-${host}.txt`))).toEqual([`atomic-${host}.txt`]);
  });
});
