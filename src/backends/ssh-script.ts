/**
 * Scripts sent to `bash -s` on a host's stdin. The remote command line is always the fixed string
 * `bash -s`; every user-supplied string (command, argv, cwd, env, log path) travels inside one base64
 * blob of NUL-terminated fields, decoded remotely with `mapfile -d ''`, so nothing is ever quoted.
 */

/** The remote command line of every exec channel. */
export const REMOTE_COMMAND = "bash -s";
/** First line a command writes to stderr: its process group id, stripped before the caller sees stderr. */
export const PGID_MARK = "\x1eherd-pgid=";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const DECODE = [
  `mapfile -d '' -t __f < <(printf %s "$__b" | base64 -d) && [ "\${#__f[@]}" -eq "$__min" ] ||`,
  `{ echo "mcp-herd: could not decode the request on this host (it needs bash >= 4.4 and base64)" >&2; return 125; }`,
].join(" ");

const CD = `if [ -n "\${__f[0]}" ]; then CDPATH= cd -- "\${__f[0]}" || return 1; fi`;

/** Runs in the new session: reports its pgid, exports env, then becomes the command. */
const EXEC_INNER =
  `printf "\\036herd-pgid=%s\\n" "$$" >&2; __herd_n=$1; shift; ` +
  `while [ "$__herd_n" -gt 0 ]; do export -- "$1=$2"; shift 2; __herd_n=$((__herd_n-1)); done; exec "$@"`;

/** The session leader of a background job: exports env, runs the command, writes its exit code. */
const BG_INNER =
  `__herd_rc=$1; shift; __herd_n=$1; shift; ` +
  `while [ "$__herd_n" -gt 0 ]; do export -- "$1=$2"; shift 2; __herd_n=$((__herd_n-1)); done; ` +
  `bash -c "$1"; printf "%s\\n" "$?" > "$__herd_rc"`;

export interface ScriptRequest {
  command?: string;
  argv?: string[];
  cwd?: string;
  env?: Record<string, string>;
}

// Why: the script for one command: setsid (own process group, pgid reported first), parsed whole before it runs.
export function execScript(req: ScriptRequest): string {
  const argv = commandArgv(req);
  const fields = [req.cwd ?? "", ...envFields(req.env), ...argv];
  // The wrapper's own stderr goes to /dev/null so bash's "Terminated" notice never mixes into the command's stderr.
  return wrap(fields, [CD, `exec 3>&2 2>/dev/null`, `setsid bash -c '${EXEC_INNER}' herd "\${__f[@]:1}" 2>&3 3>&-`]);
}

// Why: a background job that outlives the connection: setsid nohup, stdio to the log, exit code to `<log>.rc`.
export function bgScript(req: { command: string; cwd?: string; log?: string; env?: Record<string, string> }): string {
  if (req.command === "") throw new Error("command is empty");
  const fields = [req.cwd ?? "", req.log ?? "", ...envFields(req.env), req.command];
  return wrap(fields, [
    CD,
    `__log=\${__f[1]}`,
    `if [ -z "$__log" ]; then __log=$(mktemp "\${TMPDIR:-/tmp}/herd-bg.XXXXXXXXXX") || return 1; fi`,
    `rm -f -- "$__log.rc"`,
    // A background child of a non-interactive shell is never a group leader, so setsid(1) does not fork: $! is the pgid.
    `setsid nohup bash -c '${BG_INNER}' herd "$__log.rc" "\${__f[@]:2}" >> "$__log" 2>&1 < /dev/null &`,
    `printf '%s\\n%s' "$!" "$__log"`,
  ]);
}

// Why: ends a process group from a second exec (ssh2 cannot signal once stdin ended): TERM, wait, KILL, then confirm.
export function killScript(pgid: number, graceMs = 2000): string {
  if (!Number.isInteger(pgid) || pgid < 2) throw new Error(`invalid process group id ${pgid}`);
  const termPolls = Math.max(1, Math.ceil(graceMs / 50));
  return [
    `p=${pgid}`,
    // kill -0 also succeeds for zombies; a group of zombies only is gone.
    `alive() { kill -0 -- -$p 2>/dev/null || return 1; [ -d /proc/self ] || return 0; local s l r; for s in /proc/[0-9]*/stat; do read -r l < "$s" 2>/dev/null || continue; r=\${l##*) }; set -- $r; [ "$3" = "$p" ] && [ "$1" != Z ] && return 0; done; return 1; }`,
    `kill -TERM -- -$p 2>/dev/null`,
    `for ((i=0; i<${termPolls}; i++)); do alive || { echo gone; exit 0; }; sleep 0.05; done`,
    `kill -KILL -- -$p 2>/dev/null`,
    `for ((i=0; i<20; i++)); do alive || { echo gone; exit 0; }; sleep 0.05; done`,
    `echo alive`,
    "",
  ].join("\n");
}

// Why: the fields above travel as one base64 blob (the base64 alphabet is safe inside single quotes).
function packFields(fields: string[]): string {
  for (const f of fields) if (f.includes("\0")) throw new Error("a command, argument, path or env value contains a NUL byte");
  return Buffer.from(fields.map((f) => f + "\0").join(""), "utf8").toString("base64");
}

// Why: the agent path checks a request exactly as the plain path does (same errors, before anything runs).
export function checkedRequest(req: ScriptRequest): { argv: string[]; env: [string, string][] } {
  const argv = commandArgv(req);
  const envList = envFields(req.env);
  packFields([req.cwd ?? "", ...envList, ...argv]);
  return { argv, env: Object.entries(req.env ?? {}) };
}

function commandArgv(req: ScriptRequest): string[] {
  if ((req.command === undefined) === (req.argv === undefined)) throw new Error("give exactly one of command or argv");
  if (req.argv) {
    if (req.argv.length === 0 || req.argv[0] === "") throw new Error("argv is empty");
    return req.argv;
  }
  return ["bash", "-c", req.command!];
}

function envFields(env: Record<string, string> | undefined): string[] {
  const entries = Object.entries(env ?? {});
  for (const [k] of entries) {
    if (!ENV_NAME.test(k) || k.startsWith("__herd")) throw new Error(`invalid env name ${JSON.stringify(k)}: use letters, digits and '_'`);
  }
  return [String(entries.length), ...entries.flat()];
}

/** One function, called on the same line as `exit`: bash parses it whole, so stdin after it is never run as script. */
function wrap(fields: string[], body: string[]): string {
  return [`__herd() {`, `local __b='${packFields(fields)}' __min=${fields.length} __f`, DECODE, ...body, `}`, `__herd; exit $?`, ""].join("\n");
}
