/**
 * The host side of the SSH fast path: a Python 3 (standard library only) program sent over the exec
 * channel's stdin and run from memory; nothing is written to the host's disk. It reads one JSON
 * request per line on stdin and writes one JSON frame per line on stdout:
 *   in:  {"t":"run","id",argv:[b64],cwd:b64|null,env:[[b64,b64]],in:b64|null,to:seconds|null,cap}
 *        {"t":"kill","id"}
 *   out: {"t":"hello","v","pid"}  {"t":"o","id","s":1|2,"d":b64}
 *        {"t":"x","id","c":code|null,"st":"timeout"|"abort"|null,"k":bool|null,"tr":[bool,bool]}
 * Strings travel as base64 of their UTF-8 bytes, so argv, env and cwd reach execve byte-exact.
 * Each command is its own session (process group); a stop is TERM to the group, KILL after 2 s,
 * then a check in /proc that no live member is left. End of stdin stops every running command.
 */

/** The protocol version the agent announces in its hello frame. */
export const AGENT_VERSION = 1;

// Why: the agent program itself (no backticks, no template placeholders: it is a raw string).
const AGENT_SOURCE = String.raw`
import base64, json, os, select, selectors, signal, subprocess, sys, time

B64D = base64.b64decode
BASE = os.getcwd().encode("utf-8", "surrogateescape")
TERM_S, KILL_S, POLL_S, SETTLE_S = 2.0, 1.0, 0.05, 3.0
# Once the command itself exited, how long its output pipes may stay open (a daemon it left holds them).
EXIT_GRACE_S = 0.5


def pristine_env():
    # fd 3 holds "env -0" as the launching shell saw it: the interpreter (a pyenv shim, Python's own
    # locale coercion) may have changed our environ, and commands must see what the plain path sees.
    try:
        with os.fdopen(3, "rb") as f:
            data = f.read()
    except OSError:
        data = b""
    if not data:
        # Started without a bash preamble (a host whose sh is not bash): the environ the kernel handed us.
        try:
            with open("/proc/self/environ", "rb") as f:
                data = f.read()
        except OSError:
            data = b""
    if not data:
        return dict(os.environb)
    env = {}
    for item in data.split(b"\0"):
        k, sep, v = item.partition(b"=")
        if sep and k and k != b"_":
            env[k] = v
    return env


BASE_ENV = pristine_env()
# The login shell that started us already read ~/.bashrc; with SHLVL < 1 every "bash -c" run here would
# read it again (bash does so under sshd), which costs as much as the command. The plain path's commands
# run at the same level.
try:
    if int(BASE_ENV.get(b"SHLVL", b"0") or b"0") < 1:
        BASE_ENV[b"SHLVL"] = b"1"
except ValueError:
    BASE_ENV[b"SHLVL"] = b"1"


def write_all(data):
    while data:
        try:
            data = data[os.write(1, data):]
        except BlockingIOError:
            select.select([], [1], [], 1.0)


def send(msg):
    try:
        write_all((json.dumps(msg, separators=(",", ":")) + "\n").encode("ascii"))
    except OSError:
        pass


def b64(data):
    return base64.b64encode(data).decode("ascii")


def group_alive(pg):
    try:
        os.killpg(pg, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not os.path.isdir("/proc/self"):
        return True
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/" + name + "/stat", "rb") as f:
                line = f.read()
        except OSError:
            continue
        rest = line[line.rfind(b")") + 2:].split()
        if len(rest) > 2 and rest[0] != b"Z" and int(rest[2]) == pg:
            return True
    return False


def signal_group(pg, sig):
    try:
        os.killpg(pg, sig)
    except (ProcessLookupError, PermissionError):
        pass


SEL = selectors.DefaultSelector()
JOBS = {}


class Job(object):
    def __init__(self, msg):
        self.id = msg["id"]
        self.cap = int(msg.get("cap") or 0)
        to = msg.get("to")
        self.deadline = None if to is None else time.monotonic() + float(to)
        self.proc = None
        self.streams = 0
        self.code = None
        self.exited = False
        self.stop = None
        self.phase = None
        self.phase_end = 0.0
        self.next_poll = 0.0
        self.killed = None
        self.grace_end = None
        self.sent = [0, 0]
        self.trunc = [False, False]
        self.pending_in = b""

    def fail(self, code, text):
        send({"t": "o", "id": self.id, "s": 2, "d": b64(("mcp-herd: " + text + "\n").encode("utf-8", "surrogateescape"))})
        send({"t": "x", "id": self.id, "c": code, "st": None, "k": None, "tr": [False, False]})

    def spawn(self, m):
        argv = [B64D(a) for a in m["argv"]]
        env = dict(BASE_ENV)
        for k, v in m.get("env") or []:
            env[B64D(k)] = B64D(v)
        cwd = B64D(m["cwd"]) if m.get("cwd") else None
        shown = lambda b: b.decode("utf-8", "replace")
        if cwd is not None:
            if not os.path.isdir(cwd):
                why = "Not a directory" if os.path.exists(cwd) else "No such file or directory"
                self.fail(1, "cd: " + shown(cwd) + ": " + why)
                return False
            env[b"PWD"] = os.path.normpath(os.path.join(BASE, cwd))
            env[b"OLDPWD"] = BASE
        data = B64D(m["in"]) if m.get("in") else b""
        try:
            self.proc = subprocess.Popen(
                argv, cwd=cwd, env=env, close_fds=True, start_new_session=True,
                stdin=subprocess.PIPE if data else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            if cwd is not None and getattr(e, "filename", None) in (cwd, shown(cwd)):
                self.fail(1, "cd: " + shown(cwd) + ": " + (e.strerror or str(e)))
            elif isinstance(e, FileNotFoundError):
                self.fail(127, shown(argv[0]) + ": command not found")
            else:
                self.fail(126, shown(argv[0]) + ": " + (e.strerror or str(e)))
            return False
        for s, f in ((1, self.proc.stdout), (2, self.proc.stderr)):
            os.set_blocking(f.fileno(), False)
            SEL.register(f.fileno(), selectors.EVENT_READ, (self, s, f))
            self.streams += 1
        if data:
            self.pending_in = data
            os.set_blocking(self.proc.stdin.fileno(), False)
            SEL.register(self.proc.stdin.fileno(), selectors.EVENT_WRITE, (self, 0, self.proc.stdin))
        return True

    def on_ready(self, s, f):
        fd = f.fileno()
        if s == 0:
            try:
                n = os.write(fd, self.pending_in[:65536])
                self.pending_in = self.pending_in[n:]
            except BlockingIOError:
                return
            except OSError:
                self.pending_in = b""
            if not self.pending_in:
                SEL.unregister(fd)
                f.close()
            return
        try:
            d = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            d = b""
        if not d:
            self.close_stream(f)
            return
        self.forward(s, d)

    def drain(self, s, fd):
        """Sends what is already in a pipe (non-blocking); False when nothing more is there."""
        try:
            d = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            return False
        if not d:
            return False
        self.forward(s, d)
        return True

    def forward(self, s, d):
        room = self.cap - self.sent[s - 1]
        if room > 0:
            part = d[:room]
            self.sent[s - 1] += len(part)
            send({"t": "o", "id": self.id, "s": s, "d": b64(part)})
        if len(d) > max(room, 0):
            self.trunc[s - 1] = True

    def close_stream(self, f):
        try:
            SEL.unregister(f.fileno())
        except (KeyError, ValueError):
            pass
        f.close()
        self.streams -= 1

    def reap(self):
        if self.exited:
            return
        try:
            pid, st = os.waitpid(self.proc.pid, os.WNOHANG)
        except ChildProcessError:
            pid, st = self.proc.pid, 0
        if pid == 0:
            return
        self.exited = True
        if os.WIFSIGNALED(st):
            self.code = 128 + os.WTERMSIG(st)
        elif os.WIFEXITED(st):
            self.code = os.WEXITSTATUS(st)
        self.proc.returncode = self.code if self.code is not None else -1

    def finished(self):
        return self.exited and self.streams == 0

    def request_stop(self, why):
        if self.stop is None:
            self.stop = why

    def step(self, now):
        """Advances this job; returns the time it next needs attention (None: only on I/O)."""
        if self.phase is None:
            if self.finished():
                return self.report(None)
            if self.exited and self.stop is None:
                # The command ended; what still holds its stdout/stderr is not the command: report its code.
                if self.grace_end is None:
                    self.grace_end = now + EXIT_GRACE_S
                if now >= self.grace_end:
                    return self.report(None)
                return self.grace_end
            if self.stop is None and self.deadline is not None and now >= self.deadline:
                self.stop = "timeout"
            if self.stop is None:
                return self.deadline
            signal_group(self.proc.pid, signal.SIGTERM)
            self.phase, self.phase_end, self.next_poll = "term", now + TERM_S, now + POLL_S
            return self.next_poll
        if self.phase in ("term", "kill"):
            if now >= self.next_poll:
                if not group_alive(self.proc.pid):
                    self.killed = True
                elif now >= self.phase_end and self.phase == "term":
                    signal_group(self.proc.pid, signal.SIGKILL)
                    self.phase, self.phase_end = "kill", now + KILL_S
                elif now >= self.phase_end:
                    self.killed = False
                self.next_poll = now + POLL_S
            if self.killed is None:
                return self.next_poll
            self.phase, self.phase_end = "settle", now + SETTLE_S
        if self.finished() or now >= self.phase_end:
            return self.report(self.stop)
        return min(self.phase_end, now + POLL_S)

    def report(self, stop):
        for key in list(SEL.get_map().values()):
            if key.data is not None and key.data[0] is self:
                if key.data[1] != 0:
                    for _ in range(64):
                        if not self.drain(key.data[1], key.fd):
                            break
                SEL.unregister(key.fd)
                key.data[2].close()
        send({"t": "x", "id": self.id, "c": self.code, "st": stop, "k": self.killed, "tr": self.trunc})
        JOBS.pop(self.id, None)
        return None


def on_request(line):
    try:
        msg = json.loads(line.decode("ascii"))
    except ValueError:
        return
    kind = msg.get("t")
    if kind == "run":
        job = Job(msg)
        try:
            ok = job.spawn(msg)
        except Exception as e:
            job.fail(126, "agent: " + repr(e))
            ok = False
        if ok:
            JOBS[job.id] = job
    elif kind == "kill":
        job = JOBS.get(msg.get("id"))
        if job is not None:
            job.request_stop("abort")


def main():
    rfd, wfd = os.pipe()
    os.set_blocking(rfd, False)
    os.set_blocking(wfd, False)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    try:
        signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
    except TypeError:
        signal.set_wakeup_fd(wfd)
    os.set_blocking(0, False)
    try:
        pending = sys.stdin.buffer.read1(65536) or b""
    except (BlockingIOError, TypeError):
        pending = b""
    SEL.register(0, selectors.EVENT_READ, None)
    SEL.register(rfd, selectors.EVENT_READ, None)
    send({"t": "hello", "v": 1, "pid": os.getpid()})
    eof, give_up = False, None
    while True:
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            on_request(line)
        now = time.monotonic()
        wake = None
        for job in list(JOBS.values()):
            job.reap()
            t = job.step(now)
            if t is not None:
                wake = t if wake is None else min(wake, t)
        if eof and not JOBS:
            break
        if give_up is not None and now >= give_up:
            break
        timeout = None if wake is None else max(0.0, wake - time.monotonic())
        if give_up is not None:
            timeout = min(timeout if timeout is not None else 1.0, max(0.0, give_up - now))
        for key, _ in SEL.select(timeout):
            if key.data is not None:
                key.data[0].on_ready(key.data[1], key.data[2])
            elif key.fd == rfd:
                try:
                    while os.read(rfd, 4096):
                        pass
                except BlockingIOError:
                    pass
            else:
                try:
                    d = os.read(0, 65536)
                except BlockingIOError:
                    continue
                except OSError:
                    d = b""
                if d:
                    pending += d
                elif not eof:
                    eof, give_up = True, time.monotonic() + 8
                    SEL.unregister(0)
                    for job in JOBS.values():
                        job.request_stop("abort")
    os._exit(0)


main()
`;

// Why: what goes first on the stdin of a `bash -s` channel to become the agent: one line that bash runs (it reads
// a pipe a byte at a time, so the rest stays unread) replacing itself with the interpreter, which reads a length
// line and that many bytes of source; what follows is the request stream. Without bash (dash and ash read their
// script in blocks) the launch line is the channel's command instead (`command`) and stdin starts at the length.
export function agentPreamble(interpreter?: string, withBash = true): { command?: string; stdin: Buffer } {
  if (interpreter !== undefined && !/^[A-Za-z0-9_./-]+$/.test(interpreter)) throw new Error(`invalid agent interpreter ${JSON.stringify(interpreter)}: use a command name or path`);
  // The system python3 first: it starts faster than a pyenv shim and does not depend on the user's venv.
  const pick = interpreter ? `__p=${interpreter}` : `__p=/usr/bin/python3; [ -x "$__p" ] || __p=python3`;
  const run = `exec "$__p" -I -c 'import sys;i=sys.stdin.buffer;exec(compile(i.read(int(i.readline())),"mcp-herd-agent","exec"))'`;
  const src = Buffer.from(AGENT_SOURCE, "utf8");
  const body = Buffer.concat([Buffer.from(`${src.length}\n`, "ascii"), src]);
  if (!withBash) return { command: `${pick}; ${run}`, stdin: body };
  return { stdin: Buffer.concat([Buffer.from(`${pick}; ${run} 3< <(env -0 2>/dev/null)\n`, "utf8"), body]) };
}
