/**
 * Fixed POSIX sh scripts (bash, dash, BusyBox ash) that inspect, wait for and stop a background job on any host through the `shell`
 * host tool. They never contain user text: the job's pid, pgid, log path and the limits reach them as
 * environment variables (HERD_*), checked before the call (numbers, an absolute path, a signal name).
 */

/** Is any live (non-zombie) process left in group $HERD_PGID? */
const ALIVE =
  `alive() { kill -0 "-$HERD_PGID" 2>/dev/null || return 1; [ -d /proc/self ] || return 0; ` +
  `for __s in /proc/[0-9]*/stat; do read -r __l < "$__s" 2>/dev/null || continue; __r=\${__l##*) }; set -- $__r; ` +
  `[ "$3" = "$HERD_PGID" ] && [ "$1" != Z ] && return 0; done; return 1; }`;

// Why: one round trip answers state, exit code and a slice of the log (base64, so bytes and offsets stay exact).
export const INSPECT_SCRIPT = [
  ALIVE,
  // Builtins where they do (read, expansions): each fork costs a millisecond or more on a loaded host.
  `rc=; if [ -f "$HERD_RC" ]; then read -r rc < "$HERD_RC"; rc=\${rc%%[!0-9-]*}; [ \${#rc} -le 32 ] || rc=; fi`,
  `group=gone; if alive; then group=alive; fi`,
  `if [ -n "$rc" ]; then state="exited $rc"; elif [ "$group" = alive ]; then state=running; else state=gone; fi`,
  `if [ ! -e "$HERD_LOG" ]; then printf '%s %s\\nnolog\\n' "$state" "$group"; exit 0; fi`,
  `size=$(wc -c < "$HERD_LOG"); size=$((size))`,
  `off=$HERD_OFF; max=$HERD_MAX`,
  `if [ "$off" = tail ]; then off=$(( size > max ? size - max : 0 )); fi`,
  `if [ "$off" -gt "$size" ]; then off=$size; fi`,
  `n=$(( size - off )); if [ "$n" -gt "$max" ]; then n=$max; fi`,
  `printf '%s %s\\n%s %s %s\\n' "$state" "$group" "$size" "$off" "$n"`,
  `if [ "$n" -gt 0 ]; then tail -c +"$((off + 1))" -- "$HERD_LOG" | head -c "$n" | base64; fi`,
  "",
].join("\n");

// Why: ends the whole process group: the chosen signal, then KILL after the grace period, then confirms it is gone.
export const KILL_SCRIPT = [
  ALIVE,
  `if ! alive; then echo already-gone; exit 0; fi`,
  `kill "-$HERD_SIG" "-$HERD_PGID" 2>/dev/null`,
  // Most jobs end within milliseconds of the signal: a few quick looks first, then the grace period's slower polls.
  `for __q in 1 2 3 4 5; do alive || { echo gone; exit 0; }; sleep 0.01; done`,
  `i=0; while [ $i -lt "$HERD_GRACE_POLLS" ]; do alive || { echo gone; exit 0; }; sleep 0.05; i=$((i+1)); done`,
  `if [ "$HERD_SIG" != KILL ]; then kill -KILL "-$HERD_PGID" 2>/dev/null;`,
  `  i=0; while [ $i -lt 40 ]; do alive || { echo gone-after-kill; exit 0; }; sleep 0.05; i=$((i+1)); done; fi`,
  `echo alive`,
  "",
].join("\n");

// Why: waits (bounded by the shell call's own timeout) for a job to end; with HERD_FOLLOW=1 its log streams as output.
export const WAIT_SCRIPT = [
  `t=; if [ "$HERD_FOLLOW" = 1 ]; then tail -c +1 -f -- "$HERD_LOG" 2>/dev/null & t=$!; fi`,
  // A zombie leader (its parent gone and init not reaping) has ended too.
  `leader() { kill -0 "$HERD_PID" 2>/dev/null || return 1; [ -r "/proc/$HERD_PID/stat" ] || return 0; read -r __l < "/proc/$HERD_PID/stat" || return 1; __l=\${__l##*) }; [ "\${__l%% *}" != Z ]; }`,
  `while [ ! -s "$HERD_RC" ] && leader; do sleep 0.1; done`,
  `if [ -n "$t" ]; then sleep 0.2; kill "$t" 2>/dev/null; wait "$t" 2>/dev/null; fi`,
  `exit 0`,
  "",
].join("\n");
