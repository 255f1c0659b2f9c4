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
export const AGENT_SOURCE = String.raw`
import base64, json, os, signal, subprocess, sys, threading, time

B64D = base64.b64decode
OUT = sys.stdout.buffer
OUT_LOCK = threading.Lock()
JOBS = {}
JOBS_LOCK = threading.Lock()
BASE = os.getcwd().encode("utf-8", "surrogateescape")


def pristine_env():
    # fd 3 holds "env -0" as the launching shell saw it: the interpreter (a pyenv shim, Python's own
    # locale coercion) may have changed our environ, and commands must see what the plain path sees.
    try:
        with os.fdopen(3, "rb") as f:
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


def send(msg):
    data = (json.dumps(msg, separators=(",", ":")) + "\n").encode("ascii")
    with OUT_LOCK:
        try:
            OUT.write(data)
            OUT.flush()
        except Exception:
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


def stop_group(pg):
    for sig, polls in ((signal.SIGTERM, 40), (signal.SIGKILL, 20)):
        try:
            os.killpg(pg, sig)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        for _ in range(polls):
            if not group_alive(pg):
                return True
            time.sleep(0.05)
    return False


class Job(object):
    def __init__(self, msg):
        self.msg = msg
        self.id = msg["id"]
        self.cap = int(msg.get("cap") or 0)
        self.cond = threading.Condition()
        self.open_streams = 2
        self.exited = False
        self.stop = None
        self.trunc = [False, False]
        self.proc = None

    def request_stop(self, why):
        with self.cond:
            if self.stop is None:
                self.stop = why
            self.cond.notify_all()

    def fail(self, code, text):
        send({"t": "o", "id": self.id, "s": 2, "d": b64(("mcp-herd: " + text + "\n").encode("utf-8", "surrogateescape"))})
        send({"t": "x", "id": self.id, "c": code, "st": None, "k": None, "tr": [False, False]})

    def spawn(self):
        m = self.msg
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
        data = B64D(m["in"]) if m.get("in") else None
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
        if data:
            threading.Thread(target=self.feed, args=(data,), daemon=True).start()
        threading.Thread(target=self.pump, args=(self.proc.stdout, 1), daemon=True).start()
        threading.Thread(target=self.pump, args=(self.proc.stderr, 2), daemon=True).start()
        threading.Thread(target=self.reap, daemon=True).start()
        return True

    def feed(self, data):
        try:
            self.proc.stdin.write(data)
        except Exception:
            pass
        try:
            self.proc.stdin.close()
        except Exception:
            pass

    def pump(self, stream, s):
        fd = stream.fileno()
        sent = 0
        while True:
            try:
                d = os.read(fd, 65536)
            except OSError:
                d = b""
            if not d:
                break
            room = self.cap - sent
            if room > 0:
                part = d[:room]
                sent += len(part)
                send({"t": "o", "id": self.id, "s": s, "d": b64(part)})
            if len(d) > max(room, 0):
                self.trunc[s - 1] = True
        stream.close()
        with self.cond:
            self.open_streams -= 1
            self.cond.notify_all()

    def reap(self):
        self.proc.wait()
        with self.cond:
            self.exited = True
            self.cond.notify_all()

    def finished(self):
        return self.exited and self.open_streams == 0

    def run(self):
        try:
            if not self.spawn():
                return
            to = self.msg.get("to")
            deadline = None if to is None else time.monotonic() + float(to)
            with self.cond:
                while not self.finished() and self.stop is None:
                    if deadline is None:
                        self.cond.wait()
                        continue
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.stop = "timeout"
                        break
                    self.cond.wait(left)
                done = self.finished()
            killed = None
            stop = self.stop
            if done:
                stop = None
            elif stop is not None:
                killed = stop_group(self.proc.pid)
                end = time.monotonic() + 3
                with self.cond:
                    while not self.finished() and time.monotonic() < end:
                        self.cond.wait(max(0.01, end - time.monotonic()))
            code = self.proc.returncode
            if code is not None and code < 0:
                code = 128 - code
            send({"t": "x", "id": self.id, "c": code, "st": stop, "k": killed, "tr": self.trunc})
        except Exception as e:
            send({"t": "o", "id": self.id, "s": 2, "d": b64(("mcp-herd agent: " + repr(e) + "\n").encode("utf-8", "replace"))})
            send({"t": "x", "id": self.id, "c": None, "st": "abort", "k": False, "tr": self.trunc})
        finally:
            with JOBS_LOCK:
                JOBS.pop(self.id, None)


def main():
    send({"t": "hello", "v": 1, "pid": os.getpid()})
    inp = sys.stdin.buffer
    while True:
        line = inp.readline()
        if not line:
            break
        try:
            msg = json.loads(line.decode("ascii"))
        except ValueError:
            continue
        kind = msg.get("t")
        if kind == "run":
            job = Job(msg)
            with JOBS_LOCK:
                JOBS[job.id] = job
            threading.Thread(target=job.run, daemon=True).start()
        elif kind == "kill":
            with JOBS_LOCK:
                job = JOBS.get(msg.get("id"))
            if job is not None:
                job.request_stop("abort")
    with JOBS_LOCK:
        left = list(JOBS.values())
    for job in left:
        job.request_stop("abort")
    end = time.monotonic() + 8
    while time.monotonic() < end:
        with JOBS_LOCK:
            if not JOBS:
                break
        time.sleep(0.05)
    os._exit(0)


main()
`;

// Why: what goes first on the stdin of a `bash -s` channel to become the agent: one line that bash runs (it reads
// a pipe a byte at a time, so the rest stays unread) replacing itself with the interpreter, which reads a length
// line and that many bytes of source; what follows is the request stream.
export function agentPreamble(interpreter = "python3"): Buffer {
  if (!/^[A-Za-z0-9_./-]+$/.test(interpreter)) throw new Error(`invalid agent interpreter ${JSON.stringify(interpreter)}: use a command name or path`);
  const launch = `exec ${interpreter} -I -c 'import sys;i=sys.stdin.buffer;exec(compile(i.read(int(i.readline())),"mcp-herd-agent","exec"))' 3< <(env -0 2>/dev/null)\n`;
  const src = Buffer.from(AGENT_SOURCE, "utf8");
  return Buffer.concat([Buffer.from(launch, "utf8"), Buffer.from(`${src.length}\n`, "ascii"), src]);
}
