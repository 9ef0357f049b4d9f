import { SPAWNER_OUTPUT_SOURCE } from './spawner-output-source.js';
import { SPAWNER_START_SOURCE } from './spawner-start-source.js';

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
 * of the exact bytes (a file jobrun opens too: as `node:fs` names it), or the bytes as
 * they are after a `:` when they are all printable ASCII, no space (most paths: no
 * encoding either way, and `:` is no base64 character). jobrun → spawner,
 * on its stdin; after `c` and `t`, the lines that must be read while a job runs, jobrun
 * also writes a byte to fd 3, the doorbell: while a job runs the spawner waits only for
 * the job, its pipes and the doorbell (and, after a ring, stdin until the rung line
 * came), so the next job's order wakes nobody (on a virtual machine, a wake-up is much
 * of a small job's cost) and is read as the job ends. With no job running it listens
 * on stdin, so `b` and `s` (sent only then) need no ring:
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
 *   `q …` (as `s`)               queue a job behind the last one: the first queued job
 *                                starts the moment the running job is reaped, before
 *                                jobrun hears of that end, so no round trip sits between
 *                                two jobs (an order is decoded while a job before it
 *                                runs). Only after a job that exited 0:
 *                                after a failure, a signal or a failed start every queued
 *                                job is handed back (`w` each, oldest first), for jobrun
 *                                to decide (retry, halt). With no job running it starts
 *                                at once on the same terms.
 *   `c`                          withdraw every queued job (`w` each). Input already
 *                                waiting when a job is reaped is read before a queued job
 *                                starts, so a `c` sent before that end always wins.
 *   `t PID SIGNUM`               signal the job's group, if that job has not ended yet.
 * spawner → jobrun:
 *   `r`                   ready: a probe spawn with every flag a job gets worked. A
 *                         Python too old exits 3; one whose posix_spawn cannot start a
 *                         job here (no setsid support) exits 4, saying why on stderr.
 *   `p PID START`         the job started; PID leads its own session and process group;
 *                         START is its start time in clock ticks since boot, as
 *                         /proc/PID/stat gives it: known from the boot clock read around
 *                         the spawn when both reads fall in one tick, else read there
 *                         before the spawner could reap it (`-` where there is no /proc).
 *   `T PID`               a `t` reached the job while it still ran. An `x`/`k` line
 *                         before it says the job had ended on its own first.
 *   `x CODE G [SIZE]` / `k SIGNUM G [SIZE]` the job's leader exited with CODE / died of
 *                         signal SIGNUM; G is 1 while its process group lives on (what
 *                         it left in the background), 0 when the group is gone: nothing
 *                         to signal. SIZE, for a job that wrote its log itself (no OUT,
 *                         ERR or KEEP) and left no group to write more: the log's size,
 *                         the log removed when it is 0 (jobrun keeps no empty log; done
 *                         here, after the next job started, not on jobrun's main thread).
 *                         For a job whose pipes had all closed by then, `- BYTES LOGERR
 *                         CUT KEPT` instead: its output, complete (no `o` line follows).
 *   `e WHERE CODE MSG`    the job could not start; WHERE is cwd, log or exec, CODE an
 *                         errno name or, for anything else that went wrong, the
 *                         exception's class; MSG is base64. The spawner carries on.
 *   `w`                   the queued job was withdrawn or handed back: it never started.
 *   `o BYTES LOGERR CUT KEPT` after `x`/`k` of a job with OUT/ERR/KEEP whose end did not
 *                         carry it (jobs end in order): its output is complete. BYTES of output in all; LOGERR
 *                         the errno name of a failed log write or `-`; CUT 1 when stdout
 *                         went beyond KEEP; KEPT base64 of stdout's first KEEP bytes or `-`.
 *                         With BYTES 0 the spawner has removed the (empty) log.
 * A queued job says `p` or `e` (it started) or `w` (it did not), exactly one of them.
 * The spawner gathers what it says and writes it before it waits again: a job's end
 * and the start of the queued one reach jobrun in one write, in that order. While two
 * jobs or more wait queued behind the running one, ends, starts and complete outputs
 * are held back, at most BATCH (50 ms), so that several jobs share one write and one
 * wake-up of jobrun; a line held AGED (1 ms) or more starts with `@AGE ` (microseconds),
 * and jobrun dates the start or end back by that much (durations, timeouts stay exact).
 * Anything else (`e`, `w`, `T`) goes at once, with whatever waits before it.
 *
 * The child gets stdin from STDIN (/dev/null for most jobs), stdout and stderr on the log file (opened by the
 * child, truncated; or the spawner's pipes, as above; a log folder deleted while the run goes is made again), every signal at its default disposition and an empty signal mask.
 * The spawner changes into the job's folder before each spawn (posix_spawn has no
 * portable chdir action); it is single-threaded, so that is safe.
 *
 * When jobrun goes away (its ends of the pipes close, even after `kill -9`) or the spawner
 * gets SIGTERM, it sends SIGTERM to every group it started that lives (the running job's,
 * and what an earlier job left that jobrun had not killed yet, e.g. in a timed-out job's
 * kill grace), SIGKILL once the kill grace is over, and exits: no job outlives the jobrun
 * that started it, and a queued job never starts.
 */
export const SPAWNER_SOURCE = String.raw`
import binascii, errno, os, select, signal, sys, time

if sys.version_info < (3, 8) or not hasattr(os, 'posix_spawn'):
    sys.exit(3)

SIGDEF = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
NOT_EXEC = (errno.ENOENT, errno.EACCES, errno.ENOEXEC, errno.ENOTDIR)
# clock ticks (USER_HZ) in nanoseconds: /proc/PID/stat counts a process's start in them
TICK_NS = 10 ** 9 // os.sysconf('SC_CLK_TCK') if hasattr(os, 'sysconf') else 0
BOOT_CLOCK = getattr(time, 'CLOCK_BOOTTIME', None)
POLL = 0.05  # how often a job's end is looked for when it cannot be watched (see watch)
WATCH = False  # jobs' ends come as a readable pidfd, not as SIGCHLD (see can_watch)
DOORBELL = None  # fd 3, rung by jobrun after 'c' and 't' (see main)
base = {}
stopping = []
out = []  # (when, line) for jobrun, not written yet (see flush)
# How long an end or a start may wait to share a write (and jobrun's wake-up) with the
# next ones, while jobs wait queued behind the running one; and the age from which a
# line says how old it is.
BATCH, AGED = 0.05, 0.001


def decode(field):
    """A field's bytes: after ':' as they are, else base64 (see the protocol above)."""
    return field[1:] if field[:1] == b':' else binascii.a2b_base64(field)


def say(line, at=None):
    out.append((time.monotonic() if at is None else at, line))


def hold(slot):
    """How long the lines said may wait before they are written: None when there are
    none, 0 when they go now. Ends and starts (and complete outputs) wait while two jobs
    or more are queued behind the running one, at most BATCH: jobrun wakes once for
    several jobs, and still hears of the last start before the queue runs dry. Anything
    else goes at once: a failed start, a withdrawal, a signal's answer."""
    if not out:
        return None
    if stopping or slot.child is None or len(slot.queue) < 2 or slot.rings > 0:
        return 0
    for _, line in out:
        if line[:1] not in b'pxko':
            return 0
    return max(0.0, out[0][0] + BATCH - time.monotonic())


def flush():
    """Writes the lines said since the last flush, in one write. A line that waited AGED or
    more starts with '@AGE ', its age in microseconds: jobrun dates the start or end it
    says back by that much."""
    if not out:
        return
    now = time.monotonic()
    data = b''.join(b'%s\n' % line if now - at < AGED else b'@%d %s\n' % ((now - at) * 1e6, line)
                    for at, line in out)
    del out[:]
    try:
        write_all(1, data)
    except OSError:
        pass


def alive(group):
    try:
        os.killpg(group, 0)
        return True
    except OSError:
        return False


${SPAWNER_START_SOURCE}


def reap(pid):
    """None while the job runs; once it ended, whether it exited 0 and the line to say so."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False, None
    if got == 0:
        return None
    if os.WIFSIGNALED(status):
        return False, b'k %d' % os.WTERMSIG(status)
    return os.WEXITSTATUS(status) == 0, b'x %d' % os.WEXITSTATUS(status)


def waiting_input():
    """What jobrun already sent, without waiting for more."""
    data = b''
    while select.select([0], [], [], 0)[0]:
        chunk = os.read(0, 65536)
        if not chunk:
            stopping.append(0)
            break
        data += chunk
        if len(chunk) < 65536:
            break  # all there was: no second look
    return data


def shutdown(child, groups, grace):
    """jobrun is gone: TERM the groups we started that live, KILL them after the grace."""
    for group in groups:
        killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while groups and time.monotonic() < deadline:
        if child is not None and reap(child) is not None:
            child = None  # jobrun is gone: nobody to tell
        groups = [group for group in groups if alive(group)]
        if groups:
            time.sleep(0.02)
    for group in groups:
        killpg(group, signal.SIGKILL)
    if child is not None:
        try:
            os.waitpid(child, 0)
        except OSError:
            pass


class Slot:
    child = None
    grace = 0.0
    last_ok = True  # the last job exited 0: only then does a queued job start
    due = False  # the next queued job starts (or all go back) once the input waiting is handled
    output = None  # the running job's Output, when its pipes are read here
    log = None  # the running job's log, when it writes the log itself (no Output)
    watch = None  # the running job's pidfd (see watch)
    buf = b''  # input from jobrun not handled yet
    rings = 0  # doorbell rings whose line ('c', 't') is not read yet (below 0: read first)

    def __init__(self):
        self.queue = []  # the next jobs' orders (q), oldest first, as read or parsed (see start)
        self.outputs = []  # Outputs not reported yet: the running job's, and ended jobs' still read
        # Groups it started that may live: the running job's, and those of ended jobs that
        # lived on at their end (jobrun kills them, after their kill grace if it signalled
        # the job). A 't' reaches each, and so does the shutdown, whatever ran since.
        self.groups = []


def start(slot, order):
    """Starts the job of an order, as read or parsed (see prepare). The orders queued
    behind it that are still as read are parsed after the spawn, while the job runs:
    not on the way from one job's end to the next one's start."""
    parsed = prepare(order) if isinstance(order, bytes) else order
    try:
        if isinstance(parsed, Exception):
            raise parsed
        slot.child, slot.grace, slot.output = spawn(parsed)
    except Exception as err:  # a bad order (a NUL byte, a malformed line) fails that job only
        slot.child, slot.output = None, None
        fail(b'exec', err)
    if slot.output is not None:
        slot.outputs.append(slot.output)
    elif slot.child is not None:
        slot.log = parsed[3]
    slot.last_ok = slot.child is not None
    if slot.child is not None:
        slot.groups.append(slot.child)
        slot.watch = watch(slot.child)
    slot.queue = [prepare(queued) if isinstance(queued, bytes) else queued for queued in slot.queue]


def ended(slot, reaped, go_on=True):
    """The running job was reaped. Its line says whether its group lives on (1) or is
    gone (0), so jobrun need not signal it. With go_on and a job that exited 0, what
    jobrun sent while it ran is handled first, in order (so a 'c' sent before this end
    wins), and then the queued job starts at once: before this end is said, whose line
    goes first in the next write."""
    ok, line = reaped
    reaped_at = time.monotonic()
    child, watched, log, output = slot.child, slot.watch, slot.log, slot.output
    slot.child, slot.watch, slot.last_ok, slot.log = None, None, ok, None
    if output is not None:
        output.ended_at = output.last = time.monotonic()
        slot.output = None
    mark = len(out)
    slot.due = bool(slot.queue)
    if go_on and ok:
        # the lines jobrun sent while the job ran (the next job's order, unread as it
        # needs no wake-up, see main; a withdrawal) are handled first, in order
        slot.buf += waiting_input()
        while slot.child is None and b'\n' in slot.buf:
            sent, _, slot.buf = slot.buf.partition(b'\n')
            handle_safely(sent, slot)
        if slot.due and slot.child is None:
            release(slot)
    if watched is not None:
        os.close(watched)
    lives = alive(child)
    # what may live now: the running job's group, earlier leftovers jobrun has not
    # killed yet, and what this job left
    slot.groups = [g for g in slot.groups if g == slot.child or (g != child and alive(g))]
    if lives:
        slot.groups.append(child)
    if line is None:
        return
    line += b' 1' if lives else b' 0'
    if output is not None and not output.open:
        # its pipes closed before it was reaped: the end carries the output, complete
        slot.outputs.remove(output)
        line += b' - ' + output.finish()
    elif log is not None and not lives:
        line += log_size(log)
    out.insert(mark, (reaped_at, line))


def log_size(log):
    """' SIZE' of a log its job wrote itself, the log removed when empty; b'' if unknown."""
    try:
        size = os.stat(log).st_size
        if size == 0:
            os.unlink(log)
    except OSError:
        return b''
    return b' %d' % size


def closing(slot):
    """The running job's pipes all closed: its leader is most likely exiting, and its exit
    follows the pipes' end by a moment. Where a job's end comes only as SIGCHLD, a few
    quick looks for it save a sleep and a wake-up per job (each a wait for a CPU on a
    busy machine); a job that closed its output and runs on is looked at only this once."""
    output = slot.output
    for _ in range(SPIN):
        reaped = reap(slot.child)
        if reaped is not None:
            ended(slot, reaped)
            return
        os.sched_yield()
    output.spun = True


def release(slot):
    """The running job ended: the first queued job starts if it exited 0; after a failure
    every queued job goes back to jobrun, which decides (a retry, a halt) as without a queue."""
    slot.due = False
    if slot.queue and slot.last_ok:
        start(slot, slot.queue.pop(0))
    else:
        hand_back(slot)


def hand_back(slot):
    for _ in slot.queue:
        say(b'w')
    del slot.queue[:]


def handle(line, slot):
    global base
    if line.startswith(b's '):
        start(slot, line[2:])
    elif line.startswith(b'q '):
        slot.queue.append(line[2:])  # parsed in start, off the way from an end to a start
        slot.due = slot.child is None
    elif line == b'c':
        slot.rings -= 1
        hand_back(slot)
    elif line.startswith(b't '):
        slot.rings -= 1
        pid, signum = (int(f) for f in line[2:].split(b' '))
        # Reap first: a job that already ended reports its end before any word of the signal.
        if pid == slot.child:
            reaped = reap(pid)
            if reaped is not None:
                ended(slot, reaped, go_on=False)  # what it left gets the signal below
        if pid == slot.child:
            killpg(pid, signum)
            say(b'T %d' % pid)
        elif pid in slot.groups:
            killpg(pid, signum)  # what the job left behind
    elif line == b'b' or line.startswith(b'b '):
        base = dict(decode(kv).partition(b'=')[::2] for kv in line[2:].split(b' ') if kv)


def handle_safely(line, slot):
    try:
        handle(line, slot)
    except Exception:
        pass  # a malformed control line: nothing to report it to


def killpg(group, signum):
    try:
        os.killpg(group, signum)
    except OSError:
        pass


def main():
    global DOORBELL
    try:
        os.set_blocking(3, False)  # before anything here opens a descriptor that could be 3
        os.set_inheritable(3, False)  # no job holds it (nor sees it)
        DOORBELL = 3
    except OSError:
        DOORBELL = None  # no doorbell: input is listened to all the time
    try:
        probe()
    except Exception as err:
        sys.stderr.write('cannot start jobs here: %s: %s\n' % (type(err).__name__, err))
        sys.exit(4)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    global WATCH
    WATCH = can_watch()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL if WATCH else lambda s, f: None)
    signal.signal(signal.SIGTERM, lambda s, f: stopping.append(s))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    global SIGDEF
    # exec resets caught signals by itself: only ignored ones would reach a job, and
    # each signal reset is a system call in every child before it runs
    SIGDEF = [s for s in SIGDEF if signal.getsignal(s) == signal.SIG_IGN]
    say(b'r')
    slot = Slot()
    signalled = False  # the job's pidfd or a signal (SIGCHLD) woke us: look whether it ended
    while not stopping:
        if signalled and slot.child is not None:
            signalled = False
            reaped = reap(slot.child)
            if reaped is not None:
                ended(slot, reaped)
        wait = finish_outputs(slot.outputs)
        nl = slot.buf.find(b'\n')
        if nl >= 0:
            line, slot.buf = slot.buf[:nl], slot.buf[nl + 1:]
            handle_safely(line, slot)
            continue
        if slot.due:
            # what jobrun sent before the job ended is handled first: a withdrawal wins
            more = waiting_input()
            if more:
                slot.buf += more
            else:
                release(slot)
            continue
        held = hold(slot)
        if held == 0:
            flush()
        elif held is not None:
            wait = held if wait is None else min(wait, held)
        # While a job runs, input is read when the doorbell rings ('c', 't') or the job
        # ends: the next job's order ('q') then wakes nobody; jobrun's end closes the
        # doorbell too. With no job running, input is listened to ('b', 's' come then),
        # and so it is until each ring's line came: an order too big for the pipe may
        # hold it up in jobrun, to be written only as the spawner reads.
        listen = slot.child is None or DOORBELL is None or slot.rings > 0
        fds = ([0] if listen else []) + [wake_r] + [fd for output in slot.outputs for fd in output.open]
        if DOORBELL is not None:
            fds.append(DOORBELL)
        if slot.watch is not None:
            fds.append(slot.watch)
        elif WATCH and slot.child is not None:
            wait, signalled = POLL if wait is None else min(wait, POLL), True
        ready = select.select(fds, [], [], wait)[0]
        pump_outputs(slot.outputs, ready)
        if slot.output is not None and not slot.output.open and not slot.output.spun and not WATCH:
            closing(slot)  # with a pidfd the wait above ends with the job, no looking needed
        if slot.watch is not None and slot.watch in ready:
            signalled = True
        if wake_r in ready:
            signalled = True
            try:
                os.read(wake_r, 512)  # one byte per signal; any left wakes the next wait at once
            except OSError:
                pass
        rung = DOORBELL is not None and DOORBELL in ready
        if rung:
            try:
                rings = os.read(DOORBELL, 512)
                if not rings:
                    break  # jobrun is gone
                slot.rings += len(rings)
            except OSError:
                pass
        if rung or 0 in ready:
            slot.buf += waiting_input()  # at jobrun's end of input, stopping says so
    flush()
    shutdown(slot.child, slot.groups, slot.grace)


${SPAWNER_OUTPUT_SOURCE}

main()
`;
