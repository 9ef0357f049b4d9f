import fs from 'node:fs';
import net from 'node:net';
import type { RunEvent } from '../model/events.js';
import type { RunControls } from '../core/steering.js';
import { obey } from './obey.js';
import type { ControlReply, ControlRequest } from './protocol.js';
import type { RunEntry } from './registry.js';
import type { RunState } from './run-state.js';

/** A request line longer than this is refused: no verb needs more. */
const MAX_REQUEST_BYTES = 1 << 20;

/** A watcher this far behind is cut off: a slow reader never slows the run or fills its memory. */
const WATCHER_BACKLOG_BYTES = 8 << 20;

/**
 * The run's control socket: answers `jobrun ps`, `logs`, `pause`, `scale`, `cancel`,
 * `drain`, and streams events to `jobrun watch`ers. Every request is one line of
 * JSON checked against the protocol; a bad one gets an error, never an effect. A
 * client that goes away, stalls or sends garbage affects only its own connection.
 * Only the run's user can reach the socket (mode 0600, in a 0700 folder).
 */
export class ControlServer {
  private readonly server: net.Server;
  private readonly watchers = new Set<net.Socket>();
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly entry: RunEntry,
    private readonly state: RunState,
    /** Asked at each request: a backend's run may take controls only once it started. */
    private readonly controlsOf: () => RunControls | undefined,
  ) {
    this.server = net.createServer((socket) => this.connection(socket));
    this.server.on('error', () => {}); // a failing listener must not end the run
  }

  async listen(): Promise<void> {
    const { socket } = this.entry;
    fs.rmSync(socket, { force: true });
    // bound as 0600 from its first moment: the bind happens inside listen(), synchronously
    const umask = process.umask(0o177);
    let listening: Promise<void>;
    try {
      listening = new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(socket, () => resolve());
      });
    } finally {
      process.umask(umask);
    }
    await listening;
    fs.chmodSync(socket, 0o600);
    // not unref'd: a paused run with nothing running has only this to keep it alive
  }

  /** Forwards one of the run's events to every watcher. */
  onEvent(event: RunEvent): void {
    if (this.watchers.size === 0 || event.type === 'job_output') return;
    const line = JSON.stringify({ event }) + '\n';
    for (const socket of this.watchers) send(socket, line);
  }

  /**
   * Tells watchers how the run ended, ends every connection and stops listening;
   * a watcher that does not read its last line within a second is cut off.
   */
  async close(exitCode: number): Promise<void> {
    const last = JSON.stringify({ exitCode }) + '\n';
    for (const socket of this.sockets) {
      if (this.watchers.has(socket)) socket.end(last);
      else socket.destroy();
    }
    this.watchers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)));
    await Promise.race([closed, late]);
    clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
  }

  private connection(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => this.watchers.delete(socket));
    socket.on('close', () => {
      this.watchers.delete(socket);
      this.sockets.delete(socket);
    });
    socket.setTimeout(10_000, () => {
      if (!this.watchers.has(socket)) socket.destroy(); // a client that never asks
    });
    // A client that hung up before its answer gave up on it (its 5 s ran out while this
    // run was stopped or swamped) and told its user so: its request is not carried out.
    let hungUp = false;
    socket.on('end', () => (hungUp = true));
    let buffered = '';
    socket.setEncoding('utf8'); // a character split between two reads stays whole
    const onData = (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline === -1) {
        if (buffered.length > MAX_REQUEST_BYTES)
          reply(socket, { ok: false, error: 'request too long' }, true);
        return;
      }
      socket.off('data', onData); // one request per connection
      const line = buffered.slice(0, newline);
      // zod loads with the first request, not with every run
      void import('./protocol.js').then(({ parseRequest }) => {
        // a hang-up read with the request is told ('end') by the loop's next turn
        setImmediate(() => {
          if (socket.destroyed || hungUp) return;
          const request = parseRequest(line);
          if ('error' in request) reply(socket, { ok: false, error: request.error }, true);
          else this.answer(socket, request);
        });
      });
    };
    socket.on('data', onData);
  }

  private answer(socket: net.Socket, request: ControlRequest): void {
    if (request.verb === 'watch') {
      socket.setTimeout(0);
      reply(socket, { ok: true, snapshot: this.state.snapshot() }, false);
      if (this.state.base.ended) socket.end();
      else this.watchers.add(socket);
      return;
    }
    const { pid, cwd, what } = this.entry;
    void obey(request, { pid, cwd, what }, this.state, this.controlsOf()).then((answer) =>
      reply(socket, answer, true),
    );
  }
}

function reply(socket: net.Socket, answer: ControlReply, end: boolean): void {
  const line = JSON.stringify(answer) + '\n';
  if (end) socket.end(line);
  else send(socket, line);
}

function send(socket: net.Socket, line: string): void {
  if (socket.destroyed) return;
  if (socket.writableLength > WATCHER_BACKLOG_BYTES) socket.destroy();
  else socket.write(line);
}
