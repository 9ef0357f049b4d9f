/**
 * The spawner's part that reads a job's output (see `spawner-source.ts`): for jobs whose
 * stdout and stderr must come back apart (`--output grouped` to a pipe, `--results`, a
 * captured result), the spawner gives the job a pipe per stream and copies what it
 * reads to the log (both streams, in the order read), to each stream's own file, and
 * keeps the start of stdout for the result. jobrun then reads files, not pipes, and
 * the job stays the spawner's child: it dies with jobrun even after `kill -9`.
 *
 * After the job's leader is reaped its pipes are read until they close, or stay silent
 * for IDLE seconds (a process that left the job's group may hold them), and at most
 * LINGER seconds in all; then `o BYTES LOGERR CUT KEPT` says the output is complete. A
 * log that got no byte is removed first (jobrun keeps no empty log), here rather than on
 * jobrun's main thread, and after the next job started.
 */
export const SPAWNER_OUTPUT_SOURCE = String.raw`
IDLE, LINGER = 0.2, 2.0
SPIN = 50  # quick looks for a job's exit once its pipes closed (see closing)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def open_log(log):
    """The log as the spawner's own descriptor; a deleted log folder is made again."""
    try:
        return os.open(log, FLAGS, 0o666)
    except OSError as err:
        if err.errno != errno.ENOENT or not remake(log):
            raise
    return os.open(log, FLAGS, 0o666)


class Output:
    """One job's two pipes, read into its log, its stream files and the kept result."""

    def __init__(self, log, log_path, out_path, err_path, keep):
        self.log = log
        self.log_path = log_path
        self.log_error = b'-'
        self.out_r, out_w = os.pipe()
        self.err_r, err_w = os.pipe()
        self.ends = (out_w, err_w)  # the child's: closed here once it started
        self.paths = {self.out_r: out_path, self.err_r: err_path}
        self.files = {}
        self.open = [self.out_r, self.err_r]
        self.keep = keep  # bytes of stdout to keep, or -1
        self.kept = bytearray()
        self.cut = False
        self.size = 0
        self.ended_at = None  # when the leader was reaped
        self.spun = False  # its exit was looked for as its pipes closed
        self.last = 0.0

    def started(self):
        for fd in self.ends:
            os.close(fd)
        self.ends = ()

    def close(self):
        for fd in list(self.ends) + self.open + list(self.files.values()) + [self.log]:
            try:
                os.close(fd)
            except OSError:
                pass
        self.ends, self.open, self.files, self.log = (), [], {}, -1

    def stream_file(self, fd):
        """A stream's own file, made at its first byte (a stream that printed nothing has none)."""
        if fd not in self.files and self.paths.get(fd) is not None:
            try:
                self.files[fd] = os.open(self.paths[fd], FLAGS, 0o666)
            except OSError:
                self.paths[fd] = None  # dropped, as a file that cannot be written
                return -1
        return self.files.get(fd, -1)

    def pump(self, fd):
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            self.open.remove(fd)
            os.close(fd)
            return
        self.size += len(data)
        self.last = time.monotonic()
        if self.log >= 0:
            try:
                write_all(self.log, data)
            except OSError as err:
                # a full disk must not stop the job: the log is dropped, the error kept
                self.log_error = errno.errorcode.get(err.errno, 'EIO').encode()
                os.close(self.log)
                self.log = -1
        file = self.stream_file(fd)
        if file >= 0:
            try:
                write_all(file, data)
            except OSError:
                os.close(file)
                self.files[fd], self.paths[fd] = -1, None
        if fd == self.out_r and self.keep >= 0:
            room = self.keep - len(self.kept)
            self.cut = self.cut or len(data) > room
            if room > 0:
                self.kept += data[:room]

    def due(self, now):
        """When this output is complete (reported and closed), or None while its job runs."""
        if self.ended_at is None:
            return None
        if not self.open:
            return now
        return min(self.last + IDLE, self.ended_at + LINGER)

    def finish(self):
        """Closes it and says what it was: 'BYTES LOGERR CUT KEPT' (see the 'o' line)."""
        kept = binascii.b2a_base64(bytes(self.kept), newline=False) if self.keep >= 0 else b'-'
        self.close()
        if self.size == 0:
            try:
                os.unlink(self.log_path)
            except OSError:
                pass
        return b'%d %s %d %s' % (self.size, self.log_error, self.cut, kept or b'-')

    def report(self):
        say(b'o ' + self.finish())


def pump_outputs(outputs, ready):
    for output in outputs:
        for fd in [fd for fd in output.open if fd in ready]:
            output.pump(fd)


def finish_outputs(outputs):
    """Reports the outputs that are complete, in the order their jobs ended (jobrun gives
    an 'o' to the oldest job still waiting for one); returns how long the next may wait.
    An output complete behind one that is not waits for it, its pipes read meanwhile."""
    now = time.monotonic()
    while outputs:
        due = outputs[0].due(now)
        if due is None:
            return None  # the running job's: nothing after it
        if due > now:
            return due - now
        outputs.pop(0).report()
    return None
`;
