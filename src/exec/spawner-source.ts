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
 *   `s GRACE_MS FILE CWD LOG STDIN ARGC ARG… ENV…` start a job (one at a time per spawner).
 *   FILE, CWD, LOG, STDIN (the file stdin is opened from), each ARG (argv[0] included) and each ENV (`KEY=VALUE`, laid over the
 *   spawner's own environment) are base64 of the exact bytes.
 * spawner → jobrun:
 *   `r`                   ready (Python is recent enough); a too-old Python exits 3 instead.
 *   `p PID`               the job started; PID leads its own session and process group.
 *   `x CODE` / `k SIGNUM` the job's leader exited with CODE / died of signal SIGNUM.
 *   `e WHERE ERRNO MSG`   the job could not start; WHERE is cwd, log or exec, MSG base64.
 *
 * The child gets stdin from STDIN (/dev/null for most jobs), stdout and stderr on the log file (opened by the
 * child, truncated), every signal at its default disposition and an empty signal mask.
 * The spawner changes into the job's folder before each spawn (posix_spawn has no
 * portable chdir action); it is single-threaded, so that is safe.
 *
 * When jobrun goes away (its end of the pipe closes, even after `kill -9`) or the spawner
 * gets SIGTERM, it sends SIGTERM to the group it started, SIGKILL once the job's kill
 * grace is over, and exits: no job outlives the jobrun that started it.
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


def spawn(fields):
    grace = int(fields[0]) / 1000.0
    file, cwd, log, stdin = b64(fields[1]), b64(fields[2]), b64(fields[3]), b64(fields[4])
    argc = int(fields[5])
    argv = [b64(f) for f in fields[6:6 + argc]]
    over = fields[6 + argc:]
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
        (os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, log, FLAGS, 0o666),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    try:
        pid = os.posix_spawn(find(file, env), argv, env, file_actions=actions,
                             setsid=True, setsigmask=(), setsigdef=SIGDEF)
    except OSError as err:
        try:
            os.close(os.open(log, os.O_WRONLY | os.O_CREAT, 0o666))
        except OSError as logerr:
            fail(b'log', logerr)
            return None, grace
        fail(b'exec', err)
        return None, grace
    say(b'p %d' % pid)
    return pid, grace


def reap(pid):
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    if got == 0:
        return False
    if os.WIFSIGNALED(status):
        say(b'k %d' % os.WTERMSIG(status))
    else:
        say(b'x %d' % os.WEXITSTATUS(status))
    return True


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
    child = group = None
    grace = 0.0
    while not stopping:
        if child is not None and reap(child):
            group = child if alive(child) else None
            child = None
        nl = buf.find(b'\n')
        if nl >= 0:
            line, buf = buf[:nl], buf[nl + 1:]
            if line.startswith(b's '):
                child, grace = spawn(line[2:].split(b' '))
                group = child
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
