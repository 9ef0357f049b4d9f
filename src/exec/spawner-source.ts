import { SPAWNER_OUTPUT_SOURCE } from './spawner-output-source.js';

/**
 * The job spawner: a small Python 3 (≥ 3.8) program, one per worker slot, that starts
 * each job with `os.posix_spawn`. posix_spawn creates the child without copying the
 * spawner (vfork-style), while `node:child_process` forks the whole Node process for
 * every job: on small jobs that fork is most of jobrun's cost.
 *
 * It ships as a string run with `python3 -I -S -c`, so it works from the packed package
 * without a file to find at run time, and no `PYTHON*` variable or site package changes
 * what it does.
 *
 * Protocol, one line each way per event; every path, argument and variable is base64
 * of the exact bytes. jobrun → spawner:
 *   `b ENV…`                     the environment every job starts from (jobrun's own,
 *                                `KEY=VALUE` each), sent once, first. The spawner's own
 *                                environment is never handed on: Python adds to it (its
 *                                C-locale coercion sets `LC_CTYPE`).
 *   `s GRACE_MS FILE CWD LOG STDIN OUT ERR KEEP ARGC ARG… ENV…` start a job now (none is
 *                                running); STDIN is the file its stdin is opened from;
 *                                each ENV (`KEY=VALUE`) is laid over the `b` environment.
 *                                OUT, ERR (paths) and KEEP (a byte count) are `-`, or ask
 *                                for the streams apart: the job then writes into pipes the
 *                                spawner reads (see `spawner-output-source.ts`), copying
 *                                both to LOG, stdout to OUT, stderr to ERR, and keeping
 *                                stdout's first KEEP bytes.
 *   `q …` (as `s`)               queue the next job, one deep: it starts the moment the
 *                                running job is reaped, before jobrun hears of that end,
 *                                so no round trip sits between two jobs. Only after a
 *                                job that exited 0: after a failure, a signal or a failed
 *                                start it is handed back (`w`), for jobrun to decide
 *                                (retry, halt). With no job running it starts at once on
 *                                the same terms.
 *   `c`                          withdraw the queued job. Input already waiting when a
 *                                job is reaped is read before the queued job starts, so
 *                                a `c` sent before that end always wins.
 *   `t PID SIGNUM`               signal the job's group, if that job has not ended yet.
 * spawner → jobrun:
 *   `r`                   ready: a probe spawn with every flag a job gets worked. A
 *                         Python too old exits 3; one whose posix_spawn cannot start a
 *                         job here (no setsid support) exits 4, saying why on stderr.
 *   `p PID START`         the job started; PID leads its own session and process group;
 *                         START is its start time in clock ticks since boot, read before
 *                         the spawner could reap it (`-` where there is no /proc).
 *   `T PID`               a `t` reached the job while it still ran. An `x`/`k` line
 *                         before it says the job had ended on its own first.
 *   `x CODE` / `k SIGNUM` the job's leader exited with CODE / died of signal SIGNUM.
 *   `e WHERE CODE MSG`    the job could not start; WHERE is cwd, log or exec, CODE an
 *                         errno name or, for anything else that went wrong, the
 *                         exception's class; MSG is base64. The spawner carries on.
 *   `w`                   the queued job was withdrawn or handed back: it never started.
 *   `o BYTES LOGERR CUT KEPT` after `x`/`k` of a job with OUT/ERR/KEEP (jobs end in
 *                         order): its output is complete. BYTES of output in all; LOGERR
 *                         the errno name of a failed log write or `-`; CUT 1 when stdout
 *                         went beyond KEEP; KEPT base64 of stdout's first KEEP bytes or `-`.
 * A queued job says `p` or `e` (it started) or `w` (it did not), exactly one of them.
 *
 * The child gets stdin from STDIN (/dev/null for most jobs), stdout and stderr on the log file (opened by the
 * child, truncated; or the spawner's pipes, as above; a log folder deleted while the run goes is made again), every signal at its default disposition and an empty signal mask.
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
NOT_EXEC = (errno.ENOENT, errno.EACCES, errno.ENOEXEC, errno.ENOTDIR)
base = {}
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
    if isinstance(err, OSError) and err.errno:
        name = errno.errorcode.get(err.errno, 'E%d' % err.errno)
        text = os.strerror(err.errno)
    else:
        name, text = type(err).__name__, str(err) or type(err).__name__
    say(b'e ' + where + b' ' + name.encode() + b' ' +
        binascii.b2a_base64(text.encode('utf-8', 'replace'), newline=False))


def start_time(pid):
    """The child's start in ticks since boot, read while it cannot be reaped (we are its parent)."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            stat = f.read()
        return stat[stat.rindex(b')') + 2:].split(b' ')[19]
    except (OSError, ValueError, IndexError):
        return b'-'


def posix_spawn(path, argv, env, log, stdin=b'/dev/null', output=None):
    """stdout and stderr on the log, opened by the child, or on the pipes of 'output'."""
    actions = [(os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0)]
    if output is None:
        actions += [(os.POSIX_SPAWN_OPEN, 1, log, FLAGS, 0o666), (os.POSIX_SPAWN_DUP2, 1, 2)]
    else:
        actions += [(os.POSIX_SPAWN_DUP2, output.ends[0], 1),
                    (os.POSIX_SPAWN_DUP2, output.ends[1], 2)]
    return os.posix_spawn(path, argv, env, file_actions=actions,
                          setsid=True, setsigmask=(), setsigdef=SIGDEF)


def probe():
    """Start one process the way every job starts: a Python whose posix_spawn lacks
    setsid (glibc before 2.26) raises here, before 'r', so jobrun can fall back."""
    try:
        pid = posix_spawn(b'/bin/sh', [b'sh', b'-c', b':'], {}, b'/dev/null')
    except OSError as err:
        if err.errno in NOT_EXEC:
            return  # the flags were applied and only exec failed: spawning works
        raise
    os.waitpid(pid, 0)


def remake(log):
    """A log folder deleted while the run goes is made again (rather than looked for before every job)."""
    try:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        return True
    except OSError:
        return False


def optional(field):
    return None if field == b'-' else b64(field)


def piped(log, fields):
    """The job's Output when its streams come back apart (OUT, ERR, KEEP), else None."""
    out_path, err_path = optional(fields[0]), optional(fields[1])
    keep = -1 if fields[2] == b'-' else int(fields[2])
    if out_path is None and err_path is None and keep < 0:
        return None
    fd = open_log(log)
    try:
        return Output(fd, out_path, err_path, keep)
    except OSError:
        os.close(fd)  # no pipes (EMFILE): the job cannot start
        raise


def spawn(fields):
    """Starts a job; returns its pid (None when it could not start), grace and Output."""
    grace = int(fields[0]) / 1000.0
    file, cwd, log, stdin = b64(fields[1]), b64(fields[2]), b64(fields[3]), b64(fields[4])
    argc = int(fields[8])
    argv = [b64(f) for f in fields[9:9 + argc]]
    env = dict(base)
    for kv in fields[9 + argc:]:
        k, _, v = b64(kv).partition(b'=')
        env[k] = v
    try:
        os.chdir(cwd)
    except OSError as err:
        fail(b'cwd', err)
        return None, grace, None
    try:
        output = piped(log, fields[5:8])
    except OSError as err:
        fail(b'log', err)
        return None, grace, None
    if output is not None:
        try:
            pid = posix_spawn(find(file, env), argv, env, log, stdin, output)
        except Exception as err:  # also a bad argument (ValueError): its pipes are closed
            output.close()
            fail(b'exec', err)
            return None, grace, None
        output.started()
        say(b'p %d %s' % (pid, start_time(pid)))
        return pid, grace, output
    for again in (True, False):
        try:
            pid = posix_spawn(find(file, env), argv, env, log, stdin)
            break
        except OSError as err:
            try:
                os.close(os.open(log, os.O_WRONLY | os.O_CREAT, 0o666))
            except OSError as logerr:
                if again and logerr.errno == errno.ENOENT and remake(log):
                    continue
                fail(b'log', logerr)
                return None, grace, None
            fail(b'exec', err)
            return None, grace, None
    say(b'p %d %s' % (pid, start_time(pid)))
    return pid, grace, None


def reap(pid):
    """None while the job runs; once it ended (and that was said), whether it exited 0."""
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
    """What jobrun already sent, without waiting for more."""
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
        if child is not None and reap(child) is not None:
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


class Slot:
    child = None
    group = None
    grace = 0.0
    queued = None  # the next job's order (q), one deep
    last_ok = True  # the last job exited 0: only then does a queued job start
    due = False  # the queued job starts (or goes back) once the input waiting is handled
    output = None  # the running job's Output, when its pipes are read here

    def __init__(self):
        self.outputs = []  # Outputs not reported yet: the running job's, and ended jobs' still read


def start(slot, order):
    try:
        slot.child, slot.grace, slot.output = spawn(order.split(b' '))
    except Exception as err:  # a bad order (a NUL byte, a malformed line) fails that job only
        slot.child, slot.output = None, None
        fail(b'exec', err)
    if slot.output is not None:
        slot.outputs.append(slot.output)
    slot.group, slot.last_ok = slot.child, slot.child is not None


def ended(slot, ok):
    """The running job was reaped: what it left is its group's; a queued job is due."""
    slot.group = slot.child if alive(slot.child) else None
    slot.child, slot.last_ok = None, ok
    slot.due = slot.queued is not None
    if slot.output is not None:
        slot.output.ended_at = slot.output.last = time.monotonic()
        slot.output = None


def closing(slot):
    """The running job's pipes all closed: its leader is most likely exiting, and its exit
    follows the pipes' end by a moment. A few quick looks for it save a sleep and a
    wake-up per job (each a wait for a CPU on a busy machine); a job that closed its
    output and runs on is looked at only this once."""
    output = slot.output
    for _ in range(SPIN):
        ok = reap(slot.child)
        if ok is not None:
            ended(slot, ok)
            return
        os.sched_yield()
    output.spun = True


def release(slot):
    order, slot.queued, slot.due = slot.queued, None, False
    if order is not None and slot.last_ok:
        start(slot, order)
    elif order is not None:
        say(b'w')


def handle(line, slot):
    global base
    if line.startswith(b's '):
        start(slot, line[2:])
    elif line.startswith(b'q '):
        slot.queued, slot.due = line[2:], slot.child is None
    elif line == b'c':
        if slot.queued is not None:
            slot.queued = None
            say(b'w')
    elif line.startswith(b't '):
        pid, signum = (int(f) for f in line[2:].split(b' '))
        # Reap first: a job that already ended reports its end before any word of the signal.
        if pid == slot.child:
            ok = reap(pid)
            if ok is not None:
                ended(slot, ok)
        if pid == slot.child:
            killpg(pid, signum)
            say(b'T %d' % pid)
        elif pid == slot.group:
            killpg(pid, signum)  # what the job left behind
    elif line == b'b' or line.startswith(b'b '):
        base = dict(b64(kv).partition(b'=')[::2] for kv in line[2:].split(b' ') if kv)


def killpg(group, signum):
    try:
        os.killpg(group, signum)
    except OSError:
        pass


def main():
    try:
        probe()
    except Exception as err:
        sys.stderr.write('cannot start jobs here: %s: %s\n' % (type(err).__name__, err))
        sys.exit(4)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda s, f: None)
    signal.signal(signal.SIGTERM, lambda s, f: stopping.append(s))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    global SIGDEF
    # exec resets caught signals by itself: only ignored ones would reach a job, and
    # each signal reset is a system call in every child before it runs
    SIGDEF = [s for s in SIGDEF if signal.getsignal(s) == signal.SIG_IGN]
    say(b'r')
    buf = b''
    slot = Slot()
    while not stopping:
        if slot.child is not None:
            ok = reap(slot.child)
            if ok is not None:
                ended(slot, ok)
        wait = finish_outputs(slot.outputs)
        nl = buf.find(b'\n')
        if nl >= 0:
            line, buf = buf[:nl], buf[nl + 1:]
            try:
                handle(line, slot)
            except Exception:
                pass  # a malformed control line: nothing to report it to
            continue
        if slot.due:
            # what jobrun sent before the job ended is handled first: a withdrawal wins
            more = waiting_input()
            if more:
                buf += more
            else:
                release(slot)
            continue
        pipes = [fd for output in slot.outputs for fd in output.open]
        ready = select.select([0, wake_r] + pipes, [], [], wait)[0]
        pump_outputs(slot.outputs, ready)
        if slot.output is not None and not slot.output.open and not slot.output.spun:
            closing(slot)
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
    shutdown(slot.child, slot.group, slot.grace)


${SPAWNER_OUTPUT_SOURCE}

main()
`;
