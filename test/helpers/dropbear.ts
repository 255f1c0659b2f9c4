import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, keygen, killTree, waitReady } from "./sshd.js";

export interface Dropbear {
  port: number;
  /** A temp folder mounted over the user's home inside dropbear's mount namespace (holds .ssh/authorized_keys). */
  home: string;
  hostSpec(): { host: string; port: number; user: string; identityFile: string; knownHostsFile: string };
  logs(): string;
  stop(): Promise<void>;
}

// Why: a real Dropbear server (what OpenWrt and appliances run) on loopback; it reads ~/.ssh/authorized_keys from the
// passwd home, so it runs in its own mount namespace with a temp folder over that home (the machine's stays untouched).
export async function startDropbear(opts: { sftp?: boolean } = {}): Promise<Dropbear> {
  const dir = mkdtempSync(join(tmpdir(), "herd-dropbear-"));
  const home = join(dir, "home");
  mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
  const identityFile = join(dir, "id_ed25519");
  keygen(identityFile, "herd-test-user");
  writeFileSync(join(home, ".ssh", "authorized_keys"), readFileSync(identityFile + ".pub"), { mode: 0o600 });
  const hostKey = join(dir, "dropbear_ed25519");
  const gen = spawnSync("dropbearkey", ["-t", "ed25519", "-f", hostKey], { encoding: "utf8", timeout: 10_000 });
  if (gen.status !== 0) throw new Error(`dropbearkey failed: ${gen.stderr}`);
  const pub = spawnSync("dropbearkey", ["-y", "-f", hostKey], { encoding: "utf8", timeout: 10_000 });
  const line = /^(ssh-ed25519 \S+)/m.exec(pub.stdout)?.[1];
  if (!line) throw new Error(`dropbearkey -y printed no key: ${pub.stdout}${pub.stderr}`);
  const userHome = spawnSync("sh", ["-c", 'getent passwd "$(id -un)" | cut -d: -f6'], { encoding: "utf8" }).stdout.trim() || "/root";
  const knownHostsFile = join(dir, "known_hosts");
  let log = "";
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    const proc = spawn(
      "unshare",
      // sftp: false hides OpenSSH's sftp-server (dropbear runs /usr/lib/sftp-server) inside the namespace only.
      ["-m", "--", "sh", "-c", 'mount --bind "$1" "$2" && { [ "$3" = 1 ] || mount --bind /dev/null /usr/lib/openssh/sftp-server; } && shift 3 && exec "$@"',
        "herd-dropbear", home, userHome, opts.sftp === false ? "0" : "1",
        "dropbear", "-F", "-E", "-s", "-m", "-p", `127.0.0.1:${port}`, "-r", hostKey, "-P", join(dir, "dropbear.pid")],
      { stdio: ["ignore", "ignore", "pipe"], detached: true },
    );
    proc.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    if (await waitReady(port, exited, 10_000)) child = proc;
    else killTree(proc.pid!);
  }
  if (!child) throw new Error(`dropbear did not start; its log:\n${log}`);
  writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${line}\n`);
  const proc = child;
  return {
    port,
    home,
    hostSpec: () => ({ host: "127.0.0.1", port, user: "root", identityFile, knownHostsFile }),
    logs: () => log,
    async stop() {
      const exited = new Promise<void>((r) => (proc.exitCode !== null ? r() : proc.once("exit", () => r())));
      killTree(proc.pid!);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
