import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export interface Sshd {
  port: number;
  host: "127.0.0.1";
  user: string;
  /** Private key authorized for `user`. */
  identityFile: string;
  /** known_hosts holding the `[127.0.0.1]:PORT` entry for this server. */
  knownHostsFile: string;
  /** The host key line (`ssh-ed25519 AAAA...`). */
  hostKeyPub: string;
  /** Folder holding keys and config; removed by stop(). */
  dir: string;
  /** What sshd wrote to stderr so far (for failure messages). */
  logs(): string;
  /** The `ssh` block of an mcp-herd host entry that reaches this server. */
  hostSpec(): { host: string; port: number; user: string; identityFile: string; knownHostsFile: string };
  /** Stops sshd and every session it serves; `keepFiles` keeps the temp folder for restart(). */
  stop(opts?: { keepFiles?: boolean }): Promise<void>;
  /** Stops the server and its sessions, then starts it again on the same port with the same keys. */
  restart(): Promise<void>;
}

export interface SshdOptions {
  /** Extra `-o Key=Value` options for sshd. */
  options?: string[];
  /** false: no sftp subsystem at all (a hardened host); default internal-sftp. */
  sftp?: boolean;
  /** A command sshd runs under (argv; sshd's own argv is appended), e.g. an unshare wrapper. */
  prefix?: string[];
  /** Sign the host key with this CA private key (principals, ssh-keygen -V validity) and serve the certificate. */
  hostCert?: { caKey: string; principals: string[]; validity?: string };
}

// Why: real SSH in tests without touching the machine's own sshd, keys or known_hosts.
export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  mkdirSync("/run/sshd", { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "herd-sshd-"));
  const hostKey = join(dir, "host_ed25519");
  const identityFile = join(dir, "id_ed25519");
  keygen(hostKey, "herd-test-host");
  keygen(identityFile, "herd-test-user");
  const authorizedKeys = join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, readFileSync(identityFile + ".pub"));
  const hostKeyPub = readFileSync(hostKey + ".pub", "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
  const certOptions: string[] = [];
  if (opts.hostCert) {
    const c = opts.hostCert;
    const r = spawnSync("ssh-keygen", ["-q", "-s", c.caKey, "-I", "herd-test-host", "-h", "-n", c.principals.join(","), "-V", c.validity ?? "-5m:+1h", hostKey + ".pub"], { encoding: "utf8", timeout: 10_000 });
    if (r.status !== 0) throw new Error(`ssh-keygen -s failed: ${r.stderr}`);
    certOptions.push("-o", `HostCertificate=${hostKey}-cert.pub`);
  }
  const knownHostsFile = join(dir, "known_hosts");
  const user = userInfo().username;

  let log = "";
  let child: ChildProcess | undefined;
  let port = 0;

  const launch = async (wanted?: number): Promise<void> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const tryPort = wanted ?? (await freePort());
      const args = [
        "-D", "-e", "-f", "/dev/null", "-p", String(tryPort), "-h", hostKey,
        "-o", "ListenAddress=127.0.0.1",
        "-o", `AuthorizedKeysFile=${authorizedKeys}`,
        "-o", "PasswordAuthentication=no",
        "-o", "KbdInteractiveAuthentication=no",
        "-o", "UsePAM=no",
        "-o", "StrictModes=no",
        "-o", "PermitRootLogin=prohibit-password",
        "-o", `PidFile=${join(dir, "sshd.pid")}`,
        ...(opts.sftp === false ? [] : ["-o", "Subsystem=sftp internal-sftp"]),
        "-o", "UseDNS=no",
        "-o", "PrintMotd=no",
        ...(opts.options ?? []).flatMap((o) => ["-o", o]),
        ...certOptions,
      ];
      const argv = [...(opts.prefix ?? []), "/usr/sbin/sshd", ...args];
      const proc = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], detached: true });
      proc.stderr!.on("data", (d: Buffer) => (log += d.toString()));
      const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
      const ready = await waitReady(tryPort, exited, 10_000);
      if (ready) {
        child = proc;
        port = tryPort;
        return;
      }
      killTree(proc.pid!);
      await Promise.race([exited, sleep(2000)]);
      if (!/Address already in use/i.test(log) && wanted === undefined) break;
      await sleep(200);
    }
    throw new Error(`sshd did not start (port ${wanted ?? "random"}); its log:\n${log}`);
  };

  const stopServer = async () => {
    const proc = child;
    child = undefined;
    if (!proc?.pid || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    killTree(proc.pid);
    await Promise.race([exited, sleep(5000)]);
  };

  await launch();
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostKeyPub}\n`);

  return {
    get port() {
      return port;
    },
    host: "127.0.0.1",
    user,
    identityFile,
    knownHostsFile,
    hostKeyPub,
    dir,
    logs: () => log,
    hostSpec: () => ({ host: "127.0.0.1", port, user, identityFile, knownHostsFile }),
    async stop(stopOpts) {
      await stopServer();
      if (!stopOpts?.keepFiles) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await stopServer();
      for (let i = 0; ; i++) {
        try {
          await launch(port);
          return;
        } catch (err) {
          if (i >= 10) throw err;
          await sleep(300);
        }
      }
    },
  };
}

export function keygen(file: string, comment: string): void {
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file], {
    encoding: "utf8",
    timeout: 10_000,
  });
  if (r.status !== 0) throw new Error(`ssh-keygen failed for ${file}: ${r.stderr || r.error?.message}`);
}

/** A port the kernel just handed out on 127.0.0.1 (may be taken again before use: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Ready = a TCP connect succeeds and the server's `SSH-2.0` banner is read. */
export async function waitReady(port: number, exited: Promise<void>, boundMs: number): Promise<boolean> {
  let dead = false;
  void exited.then(() => (dead = true));
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline && !dead) {
    if (await bannerSeen(port)) return true;
    await sleep(25);
  }
  return false;
}

function bannerSeen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let buf = "";
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on("error", () => done(false));
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("SSH-2.0")) done(true);
    });
    sock.on("end", () => done(false));
  });
}

/** Signals a process and every descendant (sshd puts each connection in its own session). */
export function killTree(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(name));
      parents.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const all: number[] = [];
  const walk = (p: number) => {
    all.push(p);
    for (const c of parents.get(p) ?? []) walk(c);
  };
  walk(pid);
  for (const p of all) {
    try {
      process.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
