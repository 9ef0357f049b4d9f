import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toPayload, type OutputReturn } from '../../src/backends/payload.js';
import { bullConnection } from '../../src/backends/redis-connect.js';
import { CANCEL_CHANNEL, PREFIX, outputKey, queueName } from '../../src/backends/redis-names.js';
import { encodeCancel } from '../../src/backends/redis-cancel.js';
import { parseRedisUrl } from '../../src/backends/redis-url.js';
import { JobrunWorker } from '../../src/backends/redis-worker.js';
import { sendStreams } from '../../src/backends/redis-worker-streams.js';
import { createLocalExecutor } from '../../src/exec/local-executor.js';
import type { ExecRequest, Executor, OutputStream } from '../../src/exec/types.js';
import { job } from '../core/harness.js';
import { requireRedisOrWarn, startRedis, type RedisServer } from './redis-server.js';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-streams-'));
}

describe('sendStreams: an ended attempt’s stdout and stderr files, sent line by line', () => {
  it('sends every line of each stream, split as live lines are, then removes the files', async () => {
    const dir = tempDir();
    const paths = {
      stdoutPath: path.join(dir, 'a.stdout'),
      stderrPath: path.join(dir, 'a.stderr'),
    };
    const long = 'x'.repeat(100_000); // longer than one read step, and than one line piece
    fs.writeFileSync(paths.stdoutPath, `one\r\ntwo\n${long}\nlast without newline`);
    fs.writeFileSync(paths.stderrPath, Buffer.from([0x65, 0x72, 0x72, 0x0a]));
    const sent: Array<[OutputStream, string]> = [];
    const bytes: Buffer[] = [];
    let flushes = 0;
    await sendStreams(paths, {
      line: (stream, line, newline) => {
        sent.push([stream, line]);
        if (stream === 'stdout') bytes.push(Buffer.from(newline ? `${line}\n` : line));
      },
      flush: async () => void flushes++,
      stopped: () => false,
    });
    const out = sent.filter(([s]) => s === 'stdout').map(([, l]) => l);
    expect(out.slice(0, 2)).toEqual(['one\r', 'two']);
    expect(out.slice(2, -1).join('')).toBe(long);
    expect(out.at(-1)).toBe('last without newline');
    // with whether each ended with a newline, the lines are the file's bytes
    expect(Buffer.concat(bytes).toString()).toBe(`one\r\ntwo\n${long}\nlast without newline`);
    expect(sent.filter(([s]) => s === 'stderr')).toEqual([['stderr', 'err']]);
    // sent in steps, each waited for: a large output is never held whole
    expect(flushes).toBeGreaterThan(2);
    expect(fs.existsSync(paths.stdoutPath) || fs.existsSync(paths.stderrPath)).toBe(false);
  });

  it('a stream without a file sends nothing and fails nothing', async () => {
    const dir = tempDir();
    const sent: string[] = [];
    await sendStreams(
      { stdoutPath: path.join(dir, 'none.stdout'), stderrPath: path.join(dir, 'none.stderr') },
      { line: (_s, line) => sent.push(line), flush: async () => {}, stopped: () => false },
    );
    expect(sent).toEqual([]);
  });

  it('an attempt stopped meanwhile sends no more steps: no one shows them, its end waits', async () => {
    const dir = tempDir();
    const paths = {
      stdoutPath: path.join(dir, 's.stdout'),
      stderrPath: path.join(dir, 's.stderr'),
    };
    fs.writeFileSync(paths.stdoutPath, 'line\n'.repeat(100_000)); // 500 kB: many steps
    fs.writeFileSync(paths.stderrPath, 'err\n');
    let sent = 0;
    let flushes = 0;
    await sendStreams(paths, {
      line: () => void sent++,
      flush: async () => void flushes++,
      stopped: () => flushes >= 1, // stopped as the first step was sent
    });
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(100_000);
    // the files are removed all the same
    expect(fs.existsSync(paths.stdoutPath) || fs.existsSync(paths.stderrPath)).toBe(false);
  });
});

const enabled = requireRedisOrWarn('test/backends/redis-worker-streams.test.ts');

describe.runIf(enabled)('how a worker runs a job whose output goes back', () => {
  let server: RedisServer;
  let conn: Redis;
  let queue: Queue;
  let events: QueueEvents;
  let worker: JobrunWorker;
  const requests: ExecRequest[] = [];

  beforeAll(async () => {
    server = await startRedis();
    const target = parseRedisUrl(server.url);
    const local = createLocalExecutor();
    const recording: Executor = {
      start: (request) => {
        requests.push(request);
        return local.start(request);
      },
    };
    worker = new JobrunWorker({
      target,
      concurrency: 1,
      pools: [],
      logRoot: tempDir(),
      baseDir: process.cwd(),
      executor: recording,
    });
    await worker.start();
    conn = new Redis(server.url);
    const connection = bullConnection(target);
    queue = new Queue(queueName(undefined), { connection, prefix: PREFIX });
    events = new QueueEvents(queueName(undefined), { connection, prefix: PREFIX });
    await events.waitUntilReady();
  });

  afterAll(async () => {
    conn?.disconnect();
    const closing = Promise.all(
      [events?.close(), queue?.close(), worker?.close(true)].map((p) => p?.catch(() => {})),
    );
    // bounded: a client stuck on a failed setup must not leave redis-server behind
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 5000))]);
    await server?.stop();
  });

  /** Runs one job through the worker; the request it made and the lines that came back. */
  async function runOne(name: string, output: OutputReturn) {
    const runKey = `t.${name}`;
    const spec = job(name, { command: 'echo out1; echo err1 >&2; echo out2', cwd: process.cwd() });
    const payload = toPayload(runKey, spec, undefined, process.cwd(), output);
    const added = await queue.add(name, payload, { jobId: `${runKey}.1` });
    await added.waitUntilFinished(events, 30_000);
    const entries = await conn.xrange(outputKey(runKey), '-', '+');
    const lines = entries.map(([, f]) => `${f[f.indexOf('s') + 1]}:${f[f.indexOf('l') + 1]}`);
    return { request: requests.find((r) => r.job.name === name), lines };
  }

  it('grouped output and --results: to files, no pipe of jobrun’s, sent back after the end', async () => {
    const { request, lines } = await runOne('after', 'streams');
    expect(request?.onLine).toBeUndefined();
    expect(request?.separate).toBeDefined();
    expect(lines.filter((l) => l.startsWith('o:'))).toEqual(['o:out1', 'o:out2']);
    expect(lines.filter((l) => l.startsWith('e:'))).toEqual(['e:err1']);
    // the worker's copies are gone once sent; its log keeps both streams
    expect(fs.existsSync(request?.separate?.stdoutPath ?? '')).toBe(false);
    expect(fs.readFileSync(request?.logPath ?? '', 'utf8')).toContain('err1');
  });

  it('grouped: an attempt stopped while its lines are sent sends no more of them', async () => {
    const runKey = 't.stopped';
    const total = 1_000_000;
    const spec = job('stopped', { command: `seq ${total}`, cwd: process.cwd() });
    const payload = toPayload(runKey, spec, undefined, process.cwd(), 'streams');
    const added = await queue.add('stopped', payload, { jobId: `${runKey}.1` });
    const sent = async (): Promise<number> => {
      const info = (await conn
        .call('XINFO', 'STREAM', outputKey(runKey))
        .catch(() => [])) as unknown[];
      const at = info.indexOf('entries-added');
      return at === -1 ? 0 : Number(info[at + 1]);
    };
    // the job ends at once; its lines go out in steps: stop it as the first ones arrive
    for (let i = 0; i < 600 && (await sent()) === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(await sent()).toBeGreaterThan(0);
    await conn.publish(CANCEL_CHANNEL, encodeCancel({ jobIds: [added.id!], immediate: false }));
    await added.waitUntilFinished(events, 60_000).catch(() => {});
    expect(await sent()).toBeLessThan(total);
  });

  it('--output stream: each line as it comes, through the worker', async () => {
    const { request, lines } = await runOne('live', 'lines');
    expect(request?.onLine).toBeDefined();
    expect(request?.separate).toBeUndefined();
    expect(lines).toEqual(expect.arrayContaining(['o:out1', 'e:err1', 'o:out2']));
  });
});
