import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxChroot, type BusyboxChroot } from "../helpers/chroot.js";
import { startDropbear, type Dropbear } from "../helpers/dropbear.js";
import { allText as text, cleanEnv, CLI, startHerd, waitFor, type Herd } from "../helpers/herd.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const data = (r: CallToolResult) => (r.structuredContent ?? {}) as Record<string, unknown>;
const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** A file name and contents that break anything quoting by hand: quotes, $( ), backticks, newlines, the heredoc word. */
const NAME = "we'ird \"name\" $(touch pwned) `id` \\ ;|&\nline2 ü.txt";
const CONTENT =
  "first line with 'single' and \"double\" quotes\n$(rm -rf /) `reboot` \\n \\\\ %s %n\r\n" +
  "__HERD_DATA_END__\n__HERD_STDIN_END__\nEOF\nünïcødé ✓ 🚀\n\ttabs\n\n\nno newline at end";

describe("SSH reach: every remote_* tool on hosts without SFTP, on Dropbear, and on a BusyBox-only chroot", () => {
  let dir: string;
  let nosftp: Sshd;
  let dropbear: Dropbear;
  let dropbearNoSftp: Dropbear;
  let chroot: BusyboxChroot;
  let chrootSshd: Sshd;
  let chrootNoSftp: Sshd;
  let hub: Herd;
  let config: string;
  const call = async (name: string, args: Record<string, unknown>) => {
    const t0 = Date.now();
    const r = (await hub.client.callTool({ name, arguments: args }, undefined, { timeout: 120_000 })) as CallToolResult;
    if (process.env.HERD_TIMING) process.stderr.write(`${String(args.host)} ${name} ${Date.now() - t0} ms\n`);
    return r;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "herd-reach-"));
    nosftp = await startSshd({ sftp: false });
    dropbear = await startDropbear();
    dropbearNoSftp = await startDropbear({ sftp: false });
    chroot = buildBusyboxChroot();
    chrootSshd = await startSshd({ prefix: chroot.prefix, options: chroot.options });
    chrootNoSftp = await startSshd({ prefix: chroot.prefix, options: chroot.options, sftp: false });
    config = join(dir, "hub.json");
    writeFileSync(
      config,
      JSON.stringify({
        hosts: [
          { name: "nosftp", ssh: nosftp.hostSpec() },
          { name: "dropbear", ssh: dropbear.hostSpec() },
          { name: "dropbear-nosftp", ssh: dropbearNoSftp.hostSpec() },
          { name: "busybox", ssh: { ...chrootSshd.hostSpec(), user: "root" } },
          { name: "busybox-nosftp", ssh: { ...chrootNoSftp.hostSpec(), user: "root" } },
        ],
      }),
    );
    hub = await startHerd({ args: ["--config", config], env: { LMCP_HUB_SSH_TIMEOUT: "20" } });
  }, 120_000);

  afterAll(async () => {
    await hub?.close();
    await nosftp?.stop();
    await dropbear?.stop();
    await dropbearNoSftp?.stop();
    await chrootSshd?.stop();
    await chrootNoSftp?.stop();
    chroot?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const expected = {
    nosftp: { files: "exec", shell: "bash", commands: "agent" },
    // Debian's dropbear finds OpenSSH's sftp-server on this machine.
    dropbear: { files: "sftp", shell: "bash", commands: "agent" },
    "dropbear-nosftp": { files: "exec", shell: "bash", commands: "agent" },
    busybox: { files: "sftp", shell: "sh", commands: "shell-session" },
    "busybox-nosftp": { files: "exec", shell: "sh", commands: "shell-session" },
  } as const;

  it.each(Object.keys(expected) as (keyof typeof expected)[])(
    "%s: shell, write/read/edit byte-exact with a hostile name, list, search, and a background job's exit code",
    async (host) => {
      const want = expected[host];
      const base = `herd-reach-${host}`;
      const mk = await call("remote_shell", { host, command: `rm -rf ~/${base} && mkdir -p ~/${base} && echo made` });
      expect(mk.isError, text(mk)).toBeFalsy();
      expect(data(mk).stdout).toBe("made\n");

      const env = await call("remote_shell", { host, command: 'printf %s "$HOSTILE"; echo "[$0]" >&2', env: { HOSTILE: CONTENT } });
      expect(env.isError, text(env)).toBeFalsy();
      expect(data(env).stdout).toBe(CONTENT);
      expect(data(env).stderr).toBe(`[${want.shell}]\n`);
      expect(data(env).transport).toMatchObject({ shell: want.shell, commands: want.commands });

      const path = `~/${base}/${NAME}`;
      const w = await call("remote_write_file", { host, path, content: CONTENT });
      expect(w.isError, text(w)).toBeFalsy();
      expect(data(w)).toMatchObject({ bytes: Buffer.byteLength(CONTENT), created: true, via: "ssh" });
      expect(data(w).transport).toMatchObject({ files: want.files });

      const sum = await call("remote_shell", { host, command: `cd ~/${base} && for f in *; do sha256sum < "$f" | cut -c1-64; done; set -- *; echo "$# files, $(ls -A | grep -c 'herd-.*tmp') temp files"` });
      expect(data(sum).stdout, text(sum)).toBe(`${sha256(CONTENT)}\n1 files, 0 temp files\n`);

      const r = await call("remote_read_file", { host, path });
      expect(r.isError, text(r)).toBeFalsy();
      expect(data(r).content ?? text(r)).toContain("ünïcødé ✓ 🚀");
      const raw = await call("remote_shell", { host, command: `cat ~/${base}/*` });
      expect(data(raw).stdout).toBe(CONTENT);

      const e = await call("remote_edit_file", { host, path, old_string: "ünïcødé", new_string: "edited $(x) 'q'" });
      expect(e.isError, text(e)).toBeFalsy();
      const after = await call("remote_shell", { host, command: `cat ~/${base}/*` });
      expect(data(after).stdout).toBe(CONTENT.replace("ünïcødé", "edited $(x) 'q'"));

      const ap = await call("remote_write_file", { host, path, content: "\nappended", append: true });
      expect(ap.isError, text(ap)).toBeFalsy();
      const appended = await call("remote_shell", { host, command: `tail -c 9 ~/${base}/*` });
      expect(data(appended).stdout).toBe("\nappended");

      const l = await call("remote_list_dir", { host, path: `~/${base}` });
      expect(l.isError, text(l)).toBeFalsy();
      const entries = data(l).entries as Array<{ name: string; type: string; mode: string }>;
      expect(entries.map((x) => x.name)).toEqual([NAME]);
      expect(entries[0]).toMatchObject({ type: "file" });

      const byName = await call("remote_search_files", { host, path: `~/${base}`, pattern: "*name*" });
      expect(byName.isError, text(byName)).toBeFalsy();
      expect((data(byName).matches as Array<{ path: string }>).map((m) => m.path.split("/").pop())).toEqual([NAME]);
      const byContent = await call("remote_search_files", { host, path: `~/${base}`, pattern: "appended", content: true });
      expect(byContent.isError, text(byContent)).toBeFalsy();
      expect(data(byContent).matches).toEqual([expect.objectContaining({ text: "appended" })]);

      const pwned = await call("remote_shell", { host, command: `ls ~/pwned ~/${base}/pwned 2>&1; true` });
      expect(data(pwned).stdout).toMatch(/No such file/);

      const bg = await call("remote_shell_bg", { host, command: 'echo "bg $0"; exit 7', cwd: `~/${base}` });
      expect(bg.isError, text(bg)).toBeFalsy();
      const job = data(bg).job as string;
      expect(await waitFor(async () => data(await call("remote_job_status", { job })).state === "exited", 30_000, 250)).toBe(true);
      const st = await call("remote_job_status", { job });
      expect(data(st).exit_code).toBe(7);
      const out = await call("remote_job_output", { job, offset: 0 });
      expect(data(out).output).toBe(`bg ${want.shell}\n`);
    },
    120_000,
  );

  it("remote_list_hosts says which paths serve each host", async () => {
    const r = await call("remote_list_hosts", { force: true });
    expect(r.isError, text(r)).toBeFalsy();
    const hosts = (data(r).hosts as Array<{ name: string; state: string; paths: Array<{ kind: string; transport?: Record<string, string> }> }>);
    for (const [name, want] of Object.entries(expected)) {
      const h = hosts.find((x) => x.name === name)!;
      expect(h.state, JSON.stringify(h)).toBe("UP");
      expect(h.paths[0]!.transport).toEqual(want);
      expect(text(r)).toMatch(new RegExp(`^${name}\\s+UP .*ssh=files:${want.files},shell:${want.shell},commands:${want.commands}`, "m"));
    }
  });

  it("doctor reports per host: SFTP yes/no, shell, agent or fallback, ProxyCommand", () => {
    const env = cleanEnv({ LMCP_HUB_BACKENDS: "", LMCP_HUB_SSH_TIMEOUT: "20" });
    delete env.SSH_AUTH_SOCK;
    const r = spawnSync(process.execPath, [CLI, "doctor", "--config", config], { env, encoding: "utf8", timeout: 90_000 });
    const row = (check: string) => r.stdout.split("\n").find((l) => l.startsWith(check + " "))?.slice(check.length).trim() ?? `no row ${check} in ${r.stdout}`;
    expect(row("host nosftp ssh paths")).toMatch(/^OK\s+SFTP no \(files over the exec path: sh -s, base64\); shell bash; agent yes \(python3\); ProxyCommand no/);
    expect(row("host dropbear-nosftp ssh paths")).toMatch(/^OK\s+SFTP no \(files over the exec path: sh -s, base64\); shell bash; agent yes/);
    expect(row("host dropbear ssh paths")).toMatch(/^OK\s+SFTP yes; shell bash; agent yes \(python3\); ProxyCommand no/);
    expect(row("host busybox ssh paths")).toMatch(/^OK\s+SFTP yes; shell sh \(busybox; no bash\); agent no \(no python3\): fallback, a persistent sh session \(one command at a time; others on new exec channels\); ProxyCommand no/);
  }, 120_000);
});
