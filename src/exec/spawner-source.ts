/**
 * The job spawner: a small Python 3 (≥ 3.8) program, one per worker slot, that starts
 * each job with `os.posix_spawn`. posix_spawn creates the child without copying the
 * spawner (vfork-style), while `node:child_process` forks the whole Node process for
 * every job: on small jobs that fork is most of jobrun's cost.
 *
 * It ships as a string run with `python3 -c`, so it works from the packed package
 * without a file to find at run time.
 *
 * Protocol, one line each way per event. jobrun → spawner:
 *   `s GRACE_MS FILE CWD LOG ARGC ARG… ENV…` start a job now (none is running).
 *   FILE, CWD, LOG, each ARG (argv[0] included) and each ENV (`KEY=VALUE`, laid over the
 *   spawner's own environment) are base64 of the exact bytes.
 *   `q …` (as `s`) queue the next job, one deep: it starts the moment the running job
 *   is reaped, before jobrun hears of that end, so no round trip sits between two jobs.
 *   Only after a job that exited 0: after a failure, a signal or a failed start it is
 *   handed back (`w`), for jobrun to decide (retry, halt). With no job running it
 *   starts at once on the same terms.
 *   `c`                   withdraw the queued job. Input waiting when a job is reaped
 *   is read before the queued job starts, so a `c` sent before that end always wins.
 * spawner → jobrun:
 *   `r`                   ready (Python is recent enough); a too-old Python exits 3 instead.
 *   `p PID`               the job started; PID leads its own session and process group.
 *   `x CODE` / `k SIGNUM` the job's leader exited with CODE / died of signal SIGNUM.
 *   `e WHERE ERRNO MSG`   the job could not start; WHERE is cwd, log or exec, MSG base64.
 *   `w`                   the queued job was withdrawn or handed back: it never started.
 * A queued job says `p` or `e` (it started) or `w` (it did not), exactly one of them.
 *
 * The child gets stdin from /dev/null, stdout and stderr on the log file (opened by the
 * child, truncated; a log folder deleted while the run goes is made again), every signal at its default disposition and an empty signal mask.
 * The spawner changes into the job's folder before each spawn (posix_spawn has no
 * portable chdir action); it is single-threaded, so that is safe.
 *
 * When jobrun goes away (its end of the pipe closes, even after `kill -9`) or the spawner
 * gets SIGTERM, it sends SIGTERM to the group it started, SIGKILL once the job's kill
 * grace is over, and exits: no job outlives the jobrun that started it, and a queued
 * job never starts.
 */
export const SPAWNER_SOURCE = String.raw`
import binascii, errno, os, select, signal, sys, time

if sys.version_info < (3, 8) or not hasattr(os, 'posix_spawn'):
    sys.exit(3)

b64 = binascii.a2b_base64
SIGDEF = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
BASE = dict(os.environb)
stopping = []


def say(line):
    try:
        os.write(1, line + b'\n')
    except OSError:
        pass


def alive(group):
    try:
        os.killpg(group, 0)
        return True
    except OSError:
        return False


def find(file, env):
    if b'/' in file:
        return file
    for d in env.get(b'PATH', b'/usr/bin:/bin').split(b':'):
        path = os.path.join(d or b'.', file)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))


def fail(where, err):
    name = errno.errorcode.get(err.errno, 'E%d' % (err.errno or 0)).encode()
    say(b'e ' + where + b' ' + name + b' ' + binascii.b2a_base64(os.strerror(err.errno or 0).encode(), newline=False))


def remake(log):
    """A log folder deleted while the run goes is made again (rather than looked for before every job)."""
    try:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        return True
    except OSError:
        return False


def spawn(fields):
    grace = int(fields[0]) / 1000.0
    file, cwd, log = b64(fields[1]), b64(fields[2]), b64(fields[3])
    argc = int(fields[4])
    argv = [b64(f) for f in fields[5:5 + argc]]
    over = fields[5 + argc:]
    env = BASE
    if over:
        env = dict(BASE)
        for kv in over:
            k, _, v = b64(kv).partition(b'=')
            env[k] = v
    try:
        os.chdir(cwd)
    except OSError as err:
        fail(b'cwd', err)
        return None, grace
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, log, FLAGS, 0o666),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    for again in (True, False):
        try:
            pid = os.posix_spawn(find(file, env), argv, env, file_actions=actions,
                                 setsid=True, setsigmask=(), setsigdef=SIGDEF)
            break
        except OSError as err:
            try:
                os.close(os.open(log, os.O_WRONLY | os.O_CREAT, 0o666))
            except OSError as logerr:
                if again and logerr.errno == errno.ENOENT and remake(log):
                    continue
                fail(b'log', logerr)
                return None, grace
            fail(b'exec', err)
            return None, grace
    say(b'p %d' % pid)
    return pid, grace


def reap(pid):
    """None while the job runs; once it ended (reported), whether it exited 0."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    if got == 0:
        return None
    if os.WIFSIGNALED(status):
        say(b'k %d' % os.WTERMSIG(status))
        return False
    say(b'x %d' % os.WEXITSTATUS(status))
    return os.WEXITSTATUS(status) == 0


def waiting_input():
    """What jobrun already sent, without waiting: a withdrawal must win over a queued start."""
    data = b''
    while select.select([0], [], [], 0)[0]:
        chunk = os.read(0, 65536)
        if not chunk:
            stopping.append(0)
            break
        data += chunk
    return data


def shutdown(child, group, grace):
    """jobrun is gone: TERM the group we started, KILL it after its grace."""
    if group is None:
        return
    try:
        os.killpg(group, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if child is not None and reap(child):
            child = None
        if not alive(group):
            return
        time.sleep(0.02)
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
    if child is not None:
        try:
            os.waitpid(child, 0)
        except OSError:
            pass


def main():
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda s, f: None)
    signal.signal(signal.SIGTERM, lambda s, f: stopping.append(s))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    say(b'r')
    buf = b''
    child = group = queued = None
    grace = 0.0
    # the last job exited 0 (a queued job starts only then), and a queued job is due
    last_ok, due = True, False
    while not stopping:
        if child is not None:
            ended = reap(child)
            if ended is not None:
                group = child if alive(child) else None
                child, last_ok = None, ended
                if queued is not None:
                    buf += waiting_input()
                    due = True
        nl = buf.find(b'\n')
        if nl >= 0:
            line, buf = buf[:nl], buf[nl + 1:]
            if line.startswith(b's '):
                child, grace = spawn(line[2:].split(b' '))
                group, last_ok = child, child is not None
            elif line.startswith(b'q '):
                queued, due = line[2:], child is None
            elif line == b'c' and queued is not None:
                queued = None
                say(b'w')
            continue
        if due:
            due = False
            if queued is not None and last_ok:
                child, grace = spawn(queued.split(b' '))
                group, last_ok = child, child is not None
            elif queued is not None:
                say(b'w')
            queued = None
            continue
        ready = select.select([0, wake_r], [], [])[0]
        if wake_r in ready:
            try:
                while os.read(wake_r, 512):
                    pass
            except OSError:
                pass
        if 0 in ready:
            data = os.read(0, 65536)
            if not data:
                break
            buf += data
    shutdown(child, group, grace)


main()
`;
