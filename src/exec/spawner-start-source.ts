/**
 * The spawner's part that starts a job (see `spawner-source.ts`): an order decoded into
 * the job's file, argv and environment, its folder entered, its log or pipes set up, and
 * one `os.posix_spawn` with its own session, stdin from its file, the signals a job must
 * not inherit reset and its start time known. Also the probe that proves, before the
 * spawner says it is ready, that a job can start here at all.
 */
export const SPAWNER_START_SOURCE = String.raw`
found = {}  # (file, PATH) -> where it was found last, when that is an absolute path


def find(file, env):
    """The program a PATH search finds (as execvp would), and whether that is an answer
    kept from an earlier search: a job's program (most often its shell) is looked for
    once, not before every job. See spawn_program for a kept answer that went stale."""
    if b'/' in file:
        return file, False
    key = (file, env.get(b'PATH', b'/usr/bin:/bin'))
    last = found.get(key)
    if last is not None:
        return last, True
    for d in key[1].split(b':'):
        path = os.path.join(d or b'.', file)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            if path.startswith(b'/'):
                found[key] = path  # a relative one depends on the job's folder
            return path, False
    raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))


def spawn_program(file, argv, env, *rest):
    """posix_spawn of the program 'file' names (see find). When a kept answer cannot be
    started as a program (removed, no longer executable), the search is made afresh, once."""
    path, kept = find(file, env)
    try:
        return posix_spawn(path, argv, env, *rest)
    except OSError as err:
        if not kept or err.errno not in NOT_EXEC:
            raise
    found.clear()
    return posix_spawn(find(file, env)[0], argv, env, *rest)


def fail(where, err):
    if isinstance(err, OSError) and err.errno:
        name = errno.errorcode.get(err.errno, 'E%d' % err.errno)
        text = os.strerror(err.errno)
    else:
        name, text = type(err).__name__, str(err) or type(err).__name__
    say(b'e ' + where + b' ' + name.encode() + b' ' +
        binascii.b2a_base64(text.encode('utf-8', 'replace'), newline=False))


def boot_ticks():
    """The boot clock in ticks, or None where there is none (not Linux)."""
    if BOOT_CLOCK is None or not TICK_NS:
        return None
    try:
        return time.clock_gettime_ns(BOOT_CLOCK) // TICK_NS
    except OSError:
        return None


def start_time(pid, before, after):
    """The child's start in ticks since boot. The kernel takes it from the boot clock
    while posix_spawn runs: when the clock read just before and just after the spawn
    is in one tick, that tick is the start /proc/PID/stat shows, and nothing needs
    reading. Else it is read there, while the child cannot be reaped (we are its parent)."""
    if before is not None and before == after:
        return b'%d' % before
    try:
        fd = os.open('/proc/%d/stat' % pid, os.O_RDONLY)
        try:
            stat = os.read(fd, 4096)
        finally:
            os.close(fd)
        return stat[stat.rindex(b')') + 2:].split(b' ')[19]
    except (OSError, ValueError, IndexError):
        return b'-'


def posix_spawn(path, argv, env, log, stdin=b'/dev/null', output=None):
    """stdout and stderr on the log, opened by the child, or on the pipes of 'output'.
    Returns the pid and its start time (see start_time)."""
    actions = [(os.POSIX_SPAWN_OPEN, 0, stdin, os.O_RDONLY, 0)]
    if output is None:
        actions += [(os.POSIX_SPAWN_OPEN, 1, log, FLAGS, 0o666), (os.POSIX_SPAWN_DUP2, 1, 2)]
    else:
        actions += [(os.POSIX_SPAWN_DUP2, output.ends[0], 1),
                    (os.POSIX_SPAWN_DUP2, output.ends[1], 2)]
    before = boot_ticks()
    pid = os.posix_spawn(path, argv, env, file_actions=actions,
                         setsid=True, setsigmask=(), setsigdef=SIGDEF)
    return pid, start_time(pid, before, boot_ticks())


def probe():
    """Start one process the way every job starts: a Python whose posix_spawn lacks
    setsid (glibc before 2.26) raises here, before 'r', so jobrun can fall back."""
    try:
        pid, _ = posix_spawn(b'/bin/sh', [b'sh', b'-c', b':'], {}, b'/dev/null')
    except OSError as err:
        if err.errno in NOT_EXEC:
            return  # the flags were applied and only exec failed: spawning works
        raise
    os.waitpid(pid, 0)


def can_watch():
    """Whether a job's end can be waited for on a pidfd (Linux 5.3, Python 3.9): no signal
    then interrupts the wait and no handler runs for each job."""
    if not hasattr(os, 'pidfd_open'):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
        return True
    except OSError:
        return False


def watch(pid):
    """A pidfd that turns readable when the job ends, or None (then it is polled)."""
    try:
        return os.pidfd_open(pid) if WATCH else None
    except OSError:
        return None


def remake(log):
    """A log folder deleted while the run goes is made again (rather than looked for before every job)."""
    try:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        return True
    except OSError:
        return False


def optional(field):
    return None if field == b'-' else decode(field)


def piped(log, fields):
    """The job's Output when its streams come back apart (OUT, ERR, KEEP), else None."""
    out_path, err_path = optional(fields[0]), optional(fields[1])
    keep = -1 if fields[2] == b'-' else int(fields[2])
    if out_path is None and err_path is None and keep < 0:
        return None
    fd = open_log(log)
    try:
        return Output(fd, log, out_path, err_path, keep)
    except OSError:
        os.close(fd)  # no pipes (EMFILE): the job cannot start
        raise


def parse(order):
    """An order's fields decoded: for a queued job, while the job before it runs."""
    fields = order.split(b' ')
    argc = int(fields[8])
    env = dict(base)
    for kv in fields[9 + argc:]:
        k, _, v = decode(kv).partition(b'=')
        env[k] = v
    return (int(fields[0]) / 1000.0, decode(fields[1]), decode(fields[2]), decode(fields[3]),
            decode(fields[4]), fields[5:8], [decode(f) for f in fields[9:9 + argc]], env)


def prepare(order):
    """The parsed order, or what was wrong with it (said when the job would start)."""
    try:
        return parse(order)
    except Exception as err:
        return err


def spawn(parsed):
    """Starts a job; returns its pid (None when it could not start), grace and Output."""
    grace, file, cwd, log, stdin, streams, argv, env = parsed
    try:
        os.chdir(cwd)
    except OSError as err:
        fail(b'cwd', err)
        return None, grace, None
    try:
        output = piped(log, streams)
    except OSError as err:
        fail(b'log', err)
        return None, grace, None
    if output is not None:
        try:
            pid, start = spawn_program(file, argv, env, log, stdin, output)
        except Exception as err:  # also a bad argument (ValueError): its pipes are closed
            output.close()
            fail(b'exec', err)
            return None, grace, None
        output.started()
        say(b'p %d %s' % (pid, start))
        return pid, grace, output
    for again in (True, False):
        try:
            pid, start = spawn_program(file, argv, env, log, stdin)
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
    say(b'p %d %s' % (pid, start))
    return pid, grace, None
`;
