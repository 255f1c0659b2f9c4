import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface BusyboxChroot {
  /** The chroot folder (root-owned, under /run: every component must be root-owned and not writable by others). */
  root: string;
  /** Runs sshd in its own mount namespace with the user's shell set to /bin/sh and /dev/null bound into the tree. */
  prefix: string[];
  /** sshd options that chroot every session into the tree. */
  options: string[];
  remove(): void;
}

// Why: a host that has nothing but BusyBox (no bash, no python3, no coreutils): an OpenSSH ChrootDirectory tree.
export function buildBusyboxChroot(): BusyboxChroot {
  const outer = mkdtempSync("/run/herd-chroot-");
  chmodSync(outer, 0o755);
  const root = join(outer, "tree");
  for (const d of ["bin", "tmp", "dev", "root", "etc"]) mkdirSync(join(root, d), { recursive: true });
  chmodSync(root, 0o755);
  chmodSync(join(root, "tmp"), 0o1777);
  copyFileSync("/bin/busybox", join(root, "bin", "busybox"));
  chmodSync(join(root, "bin", "busybox"), 0o755);
  const list = spawnSync("/bin/busybox", ["--list"], { encoding: "utf8" });
  for (const applet of list.stdout.split("\n").filter((a) => /^[a-z0-9_.[-]+$/i.test(a) && a !== "busybox")) {
    symlinkSync("busybox", join(root, "bin", applet));
  }
  writeFileSync(join(root, "dev", "null"), "");
  writeFileSync(join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  // sshd runs the session under the login shell from the machine's passwd; inside the tree that must be /bin/sh.
  const passwd = join(outer, "passwd");
  writeFileSync(passwd, readFileSync("/etc/passwd", "utf8").replace(/^(root:[^:]*:0:0:[^:]*:[^:]*:)[^\n]*$/m, "$1/bin/sh"));
  const script = 'mount --bind "$1" /etc/passwd && mount --bind /dev/null "$2/dev/null" && shift 2 && exec "$@"';
  return {
    root,
    prefix: ["unshare", "-m", "--", "sh", "-c", script, "herd-chroot", passwd, root],
    options: [`ChrootDirectory=${root}`],
    remove: () => rmSync(outer, { recursive: true, force: true }),
  };
}
