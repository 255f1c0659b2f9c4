/**
 * Scripts sent to a host's POSIX `sh -s` on stdin (BusyBox ash, dash and bash all run them). The remote
 * command line is always the fixed string `sh -s`; every user-supplied string (command, argv, cwd, env,
 * log path, stdin bytes) travels inside the script as base64 literals, decoded on the host with
 * `base64 -d`, so nothing is ever quoted. Nothing follows the script on the channel: dash and ash read
 * their script in blocks, so bytes after it would be swallowed (stdin for a command rides in a heredoc).
 */

/** The remote command line of every exec channel. */
export const REMOTE_COMMAND = "sh -s";
/** First line a command writes to stderr: its process group id, stripped before the caller sees stderr. */
export const PGID_MARK = "\x1eherd-pgid=";

/** The shell that runs a `command` on a host: bash where the host has it, else its POSIX sh. */
export type HostShell = "bash" | "sh";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Characters a field may hold to travel literally inside single quotes. */
const PLAIN = /^[A-Za-z0-9_.,:/=+@%-]*$/;
/** Enters the folder in $1 (if any); dash and ash word their errors differently, so a missing one is said here. */
const CD =
  `if [ -n "$1" ]; then [ -d "$1" ] || { printf '%s\\n' "mcp-herd: cd $1: No such file or directory" >&2; exit 1; }; ` +
  `CDPATH= cd -- "$1" || exit 1; fi`;
const HEREDOC_END = "__HERD_STDIN_END__";

/** Decodes one base64 literal into $__v (a trailing '.' keeps trailing newlines through $(...)). */
const DECODE_FN =
  `__herd_a() { __v=$(printf %s "$1" | base64 -d && echo .) || ` +
  `{ echo "mcp-herd: could not decode the request on this host (it needs base64)" >&2; exit 125; }; __v=\${__v%.}; }`;

/** Runs in the new session: reports its pgid, exports env, then becomes the command. */
const EXEC_INNER =
  `exec 2>&3 3>&-; printf "\\036herd-pgid=%s\\n" "$$" >&2; __herd_n=$1; shift; ` +
  `while [ "$__herd_n" -gt 0 ]; do export "$1=$2"; shift 2; __herd_n=$((__herd_n-1)); done; exec "$@"`;

/** The session leader of a background job: ignores HUP (no nohup in BusyBox), exports env, runs it, writes its exit code. */
const BG_INNER =
  `trap "" HUP; __herd_rc=$1; shift; __herd_sh=$1; shift; __herd_n=$1; shift; ` +
  `while [ "$__herd_n" -gt 0 ]; do export "$1=$2"; shift 2; __herd_n=$((__herd_n-1)); done; ` +
  `"$__herd_sh" -c "$1"; printf "%s\\n" "$?" > "$__herd_rc"`;

export interface ScriptRequest {
  command?: string;
  argv?: string[];
  cwd?: string;
  env?: Record<string, string>;
  stdin?: Buffer;
}

// Why: the script for one command: setsid (own process group, pgid reported first), parsed whole before it runs.
export function execScript(req: ScriptRequest, shell: HostShell = "bash"): string {
  const argv = commandArgv(req, shell);
  const fields = [req.cwd ?? "", ...envFields(req.env), ...argv];
  const input = req.stdin?.length ? `base64 -d <<'${HEREDOC_END}' | ` : "";
  const body = [
    CD,
    `shift`,
    // The wrapper's own stderr goes to /dev/null so a shell's "Terminated" notice never mixes into the command's stderr
    // (dash prints it while the command's redirections are in place, so the command takes fd 3 back itself).
    // SHLVL as `bash -s` would set it: a bash command under sshd with SHLVL < 2 reads ~/.bashrc again.
    `exec 3>&2 2>/dev/null; SHLVL=$((\${SHLVL:-0} + 1)); export SHLVL`,
    `${input}setsid sh -c '${EXEC_INNER}' herd "$@"`,
  ];
  if (input) body.push(...base64Lines(req.stdin!), HEREDOC_END);
  return wrap(fields, body);
}

// Why: a background job that outlives the connection: setsid, stdio to the log, exit code to `<log>.rc`.
export function bgScript(req: { command: string; cwd?: string; log?: string; env?: Record<string, string> }, shell: HostShell = "bash"): string {
  if (req.command === "") throw new Error("command is empty");
  const fields = [req.cwd ?? "", req.log ?? "", shell, ...envFields(req.env), req.command];
  return wrap(fields, [
    CD,
    `__log=$2; shift 2`,
    `if [ -z "$__log" ]; then __log=$(mktemp "\${TMPDIR:-/tmp}/herd-bg.XXXXXXXXXX") || exit 1; fi`,
    `rm -f -- "$__log.rc"; SHLVL=$((\${SHLVL:-0} + 1)); export SHLVL`,
    // A background child of a non-interactive shell is never a group leader, so setsid(1) does not fork: $! is the pgid.
    `setsid sh -c '${BG_INNER}' herd "$__log.rc" "$@" >> "$__log" 2>&1 < /dev/null &`,
    `printf '%s\\n%s' "$!" "$__log"`,
  ]);
}

// Why: ends a process group from a second exec (ssh2 cannot signal once stdin ended): TERM, wait, KILL, then confirm.
export function killScript(pgid: number, graceMs = 2000): string {
  if (!Number.isInteger(pgid) || pgid < 2) throw new Error(`invalid process group id ${pgid}`);
  const termPolls = Math.max(1, Math.ceil(graceMs / 50));
  return [
    `p=${pgid}`,
    ALIVE_FN("$p"),
    `kill -TERM -$p 2>/dev/null`,
    `i=0; while [ $i -lt ${termPolls} ]; do alive || { echo gone; exit 0; }; sleep 0.05; i=$((i+1)); done`,
    `kill -KILL -$p 2>/dev/null`,
    `i=0; while [ $i -lt 20 ]; do alive || { echo gone; exit 0; }; sleep 0.05; i=$((i+1)); done`,
    `echo alive`,
    "",
  ].join("\n");
}

// Why: "is a live (non-zombie) member of this group left?" in POSIX sh; kill -0 also succeeds for zombies.
export function ALIVE_FN(pgid: string): string {
  return (
    `alive() { kill -0 -${pgid} 2>/dev/null || return 1; [ -d /proc/self ] || return 0; ` +
    `for __s in /proc/[0-9]*/stat; do read -r __l < "$__s" 2>/dev/null || continue; __r=\${__l##*) }; ` +
    `set -- $__r; [ "$3" = "${pgid}" ] && [ "$1" != Z ] && return 0; done; return 1; }`
  );
}

// Why: what a host offers, asked once per connection: bash, python3, setsid, base64, the sh flavour, GNU head/grep.
export const PROBE_SCRIPT = [
  `c() { command -v "$1" >/dev/null 2>&1 && echo "$1=1" || echo "$1=0"; }`,
  `c bash; c setsid; c base64; c mktemp`,
  `if [ -x /usr/bin/python3 ] || command -v python3 >/dev/null 2>&1; then echo python3=1; else echo python3=0; fi`,
  `s=$(readlink /bin/sh 2>/dev/null) || s=sh; echo "sh=\${s##*/}"`,
  `if (echo x | head -z -n 1) >/dev/null 2>&1; then echo headz=1; else echo headz=0; fi`,
  `grep -Z -I --exclude-dir=x -q x /dev/null 2>/dev/null; [ $? -eq 1 ] && echo gnugrep=1 || echo gnugrep=0`,
  `echo home="$HOME"; echo pwd="$(pwd)"`,
  `exit 0`,
  "",
].join("\n");

// Why: the script reading `fields` into $1..$n and then running `body`; user text is only ever a base64 literal.
export function wrap(fields: string[], body: string[]): string {
  for (const f of fields) if (f.includes("\0")) throw new Error("a command, argument, path or env value contains a NUL byte");
  const lines = [DECODE_FN];
  // A field of plain characters needs no decoding (no fork): single quotes cannot be ended from that alphabet.
  fields.forEach((f, i) => lines.push(PLAIN.test(f) ? `__f${i}='${f}'` : `__herd_a '${Buffer.from(f, "utf8").toString("base64")}'; __f${i}=$__v`));
  lines.push(`set -- ${fields.map((_, i) => `"$__f${i}"`).join(" ")}`);
  return [...lines, ...body, `exit $?`, ""].join("\n");
}

// Why: a buffer as 76-column base64 lines (never the heredoc's end word: '_' is not in the alphabet).
export function base64Lines(data: Buffer): string[] {
  const b64 = data.toString("base64");
  const out: string[] = [];
  for (let i = 0; i < b64.length; i += 76) out.push(b64.slice(i, i + 76));
  return out;
}

// Why: the agent path checks a request exactly as the plain path does (same errors, before anything runs).
export function checkedRequest(req: ScriptRequest, shell: HostShell = "bash"): { argv: string[]; env: [string, string][] } {
  const argv = commandArgv(req, shell);
  const envList = envFields(req.env);
  for (const f of [req.cwd ?? "", ...envList, ...argv]) if (f.includes("\0")) throw new Error("a command, argument, path or env value contains a NUL byte");
  return { argv, env: Object.entries(req.env ?? {}) };
}

function commandArgv(req: ScriptRequest, shell: HostShell): string[] {
  if ((req.command === undefined) === (req.argv === undefined)) throw new Error("give exactly one of command or argv");
  if (req.argv) {
    if (req.argv.length === 0 || req.argv[0] === "") throw new Error("argv is empty");
    return req.argv;
  }
  return [shell, "-c", req.command!];
}

function envFields(env: Record<string, string> | undefined): string[] {
  const entries = Object.entries(env ?? {});
  for (const [k] of entries) {
    if (!ENV_NAME.test(k) || k.startsWith("__herd")) throw new Error(`invalid env name ${JSON.stringify(k)}: use letters, digits and '_'`);
  }
  return [String(entries.length), ...entries.flat()];
}
