import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Writable } from "node:stream";

// A POSIX sh watchdog (about 1 MiB, not a second Node process) in its own process group, holding a
// pipe from mcp-herd: "+pgid mark" / "-pgid" lines register and forget trees. When the pipe closes
// (mcp-herd exited, even by SIGKILL) it sends SIGTERM then SIGCONT to every registered group and to
// every process found the way child-tree's findTree finds them: group members, processes whose
// environment carries a tree's MCP_HERD_TREE mark (read from /proc/PID/environ), and their descendants
// by parent pid; after 2 s it SIGKILLs what is left, then exits. Signals sent to it are ignored.
const WATCHDOG = `
trap '' INT TERM HUP PIPE
list=
while IFS= read -r line; do
  op=\${line%"\${line#?}"}; rest=\${line#?}; id=\${rest%% *}; mark=
  case $rest in *" "*) mark=\${rest#* };; esac
  case $id in ''|*[!0-9]*) continue;; esac
  [ "$id" -gt 1 ] || continue
  case $mark in *[!0-9a-f]*) mark=;; esac
  new=
  for e in $list; do [ "\${e%%:*}" = "$id" ] || new="$new $e"; done
  [ "$op" = + ] && new="$new $id:$mark"
  list=$new
done
marked() {
  set --
  for e in $list; do [ -n "\${e#*:}" ] && set -- "$@" -e "MCP_HERD_TREE=\${e#*:}"; done
  [ $# -gt 0 ] && grep -lzxF "$@" /proc/[0-9]*/environ 2>/dev/null
}
targets() {
  groups=" "; for e in $list; do groups="$groups\${e%%:*} "; done
  found=" "
  for f in $(marked); do f=\${f#/proc/}; found="$found\${f%/environ} "; done
  procs=
  for d in /proc/[0-9]*; do
    { IFS= read -r st < "$d/stat"; } 2>/dev/null || continue
    set -- \${st##*) }
    case $1 in Z|X) continue;; esac
    p=\${d#/proc/}
    [ "$p" = $$ ] && continue
    procs="$procs $p:$2"
    case $groups in *" $3 "*|*" $p "*) found="$found$p ";; esac
  done
  more=1
  while [ $more = 1 ]; do
    more=0
    for e in $procs; do
      case $found in *" \${e%%:*} "*) continue;; esac
      case $found in *" \${e#*:} "*) found="$found\${e%%:*} "; more=1;; esac
    done
  done
  echo $found
}
hit() {
  s=$1; shift
  for e in $list; do kill -s "$s" -- "-\${e%%:*}" 2>/dev/null; done
  for p; do kill -s "$s" "$p" 2>/dev/null; done
}
hit TERM $(targets)
hit CONT
now() { if { read -r up _ < /proc/uptime; } 2>/dev/null; then up=\${up%.*}\${up#*.}; else up=$((\${up:-0} + 10)); fi; }
now; until=$((up + 200))
while :; do
  left=$(targets)
  [ -z "$left" ] && exit 0
  now; if [ "$up" -gt "$until" ]; then hit KILL $left; exit 0; fi
  sleep 0.1
done
`;

let reaper: ChildProcessByStdio<Writable, null, null> | undefined;

function ensureReaper(): ChildProcessByStdio<Writable, null, null> {
  // Node destroys a child's stdin when the child exits: a writable pipe is a live watchdog.
  if (reaper?.stdin.writable) return reaper;
  const child = spawn("/bin/sh", ["-c", WATCHDOG], {
    stdio: ["pipe", "ignore", "ignore"],
    detached: true,
    env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
  });
  child.on("error", () => {});
  child.stdin.on("error", () => {});
  child.unref();
  (child.stdin as Writable & { unref(): void }).unref();
  reaper = child;
  return child;
}

/** Registers a child's process group (and its tree's mark, see child-tree) so that it is killed when mcp-herd dies for any reason. */
export function watchGroup(pgid: number, mark?: string): void {
  ensureReaper().stdin.write(mark ? `+${pgid} ${mark}\n` : `+${pgid}\n`);
}

/** Forgets a process group once it is gone (so a reused id is never killed). */
export function unwatchGroup(pgid: number): void {
  if (reaper?.stdin.writable) reaper.stdin.write(`-${pgid}\n`);
}
