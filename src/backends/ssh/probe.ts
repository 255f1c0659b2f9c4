import type { SshConnection } from "./conn.js";
import { runRaw } from "./execfiles.js";
import { PROBE_SCRIPT, type HostShell } from "./script.js";

/** What one host offers, as its `sh` reports it. */
export interface HostCaps {
  /** The shell `command`s run under: bash where present, else the POSIX sh. */
  shell: HostShell;
  /** What /bin/sh is (`dash`, `busybox`, `bash`, or `sh` when it is no symlink). */
  sh: string;
  python3: boolean;
  setsid: boolean;
  base64: boolean;
  /** The folder a session starts in (the home folder, or `/` in a chroot without one). */
  home: string;
  headZ: boolean;
  gnuGrep: boolean;
}

// Why: one round trip per connection that tells which shell, agent and script variants this host can run.
export async function probeHost(conn: SshConnection, timeoutMs: number): Promise<HostCaps> {
  const r = await runRaw(conn, PROBE_SCRIPT, 64 * 1024, Math.max(timeoutMs, 10_000));
  const kv = new Map<string, string>();
  for (const line of r.stdout.toString("utf8").split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  if (r.code !== 0 || !kv.has("bash")) {
    throw new Error(`ssh ${conn.where}: the host's sh did not answer the capability probe (rc=${r.code ?? "none"}): ${r.stderr.trim().slice(0, 300) || "no output"}`);
  }
  const yes = (k: string) => kv.get(k) === "1";
  return {
    shell: yes("bash") ? "bash" : "sh",
    sh: kv.get("sh") || "sh",
    python3: yes("python3"),
    setsid: yes("setsid"),
    base64: yes("base64"),
    home: kv.get("pwd") || kv.get("home") || "/",
    headZ: yes("headz"),
    gnuGrep: yes("gnugrep"),
  };
}
