import os from 'node:os';
import { scrub, type RedisTarget } from '../backends/redis-url.js';
import type { RunEvent } from '../model/events.js';
import type { RunControls } from '../core/steering.js';
import type { Reporter } from '../reporters/types.js';
import { register } from './registry.js';
import { RunState } from './run-state.js';
import type { RedisControlServer } from './redis-server.js';
import { ControlServer } from './server.js';

/**
 * Makes a run reachable from other terminals: a reporter that keeps the run's state,
 * and, once `open`, its registry entry and control socket. Neither can fail the run:
 * a socket that cannot be made costs only the remote control, with a warning.
 */
export class RunControl implements Reporter {
  readonly state = new RunState();
  private server: ControlServer | undefined;
  private unregister: (() => void) | undefined;
  private redis: RedisControlServer | undefined;

  onEvent(event: RunEvent): void {
    this.state.onEvent(event);
    this.server?.onEvent(event);
    this.redis?.onEvent(event);
  }

  /** Registers the run and listens; returns why it could not, if it could not. */
  async open(
    runId: string,
    what: string,
    controls: () => RunControls | undefined,
  ): Promise<string | undefined> {
    try {
      const { entry, remove } = register(runId, what);
      this.unregister = remove;
      const server = new ControlServer(entry, this.state, controls);
      await server.listen();
      this.server = server;
      return undefined;
    } catch (err) {
      this.remove();
      return (err as Error).message;
    }
  }

  /**
   * A run on Redis is also listed there and takes requests from it (`jobrun ps
   * --backend …` on any machine); returns why it could not, if it could not.
   */
  async openRedis(
    target: RedisTarget,
    runId: string,
    what: string,
    controls: () => RunControls | undefined,
  ): Promise<string | undefined> {
    try {
      const { RedisControlServer } = await import('./redis-server.js');
      const entry = {
        runId,
        pid: process.pid,
        host: os.hostname(),
        cwd: process.cwd(),
        // an ad-hoc run's command line may hold the URL: its password never leaves here
        what: scrub(what, target.secrets),
        startedAt: new Date().toISOString(),
      };
      const server = new RedisControlServer(target, entry, this.state, controls);
      this.redis = server;
      await server.open();
      return undefined;
    } catch (err) {
      await this.redis?.close();
      this.redis = undefined;
      return (err as Error).message;
    }
  }

  /** Removes the registry entry and socket; synchronous, for the exit hook. */
  remove(): void {
    this.unregister?.();
    this.unregister = undefined;
  }

  /** Tells watchers the run's exit code, stops listening and unregisters. */
  async close(exitCode: number): Promise<void> {
    const { server } = this;
    this.server = undefined;
    this.remove(); // first: no new client finds a run that is ending
    await Promise.all([server?.close(exitCode), this.redis?.close(exitCode)]);
  }
}
