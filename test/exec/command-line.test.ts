import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rebuildInShell, textCommandLine as invocation } from '../../src/exec/command-line.js';
import { decodeBytes } from '../../src/model/bytes.js';
import { shellQuote } from '../../src/manifest/index.js';
import type { JobSpec } from '../../src/model/job.js';

const job = (over: Partial<JobSpec>): JobSpec => ({
  name: 'j',
  command: 'true',
  index: 0,
  priority: 0,
  needs: [],
  killGraceMs: 1000,
  retries: 0,
  backoff: { delayMs: 0, factor: 1, maxMs: 0, jitter: false },
  shell: '/bin/sh',
  cwd: '/',
  env: {},
  allowFailure: false,
  ...over,
});

/** What /bin/sh prints for `printf %s <value>` run through the rebuilt line. */
function printed(value: string): Buffer {
  const line = rebuildInShell(`printf %s ${shellQuote(value)}`);
  return spawnSync('/bin/sh', ['-c', line]).stdout;
}

describe('invocation', () => {
  it('runs argv directly and a command line through the shell', () => {
    expect(invocation(job({ argv: ['wc', '-c', 'a b'], command: "wc -c 'a b'" }))).toEqual({
      file: 'wc',
      args: ['-c', 'a b'],
    });
    expect(invocation(job({ command: 'echo hi', shell: '/bin/bash' }))).toEqual({
      file: '/bin/bash',
      args: ['-c', 'echo hi'],
    });
  });

  it('rebuilds raw bytes in the shell, also %, \\, quotes and trailing newlines', () => {
    const raw = decodeBytes(Buffer.from([0x63, 0xe9, 0x25, 0x73, 0x5c, 0x27, 0xff, 0x0a, 0x0a]));
    expect([...printed(raw)]).toEqual([0x63, 0xe9, 0x25, 0x73, 0x5c, 0x27, 0xff, 0x0a, 0x0a]);
    const inv = invocation(
      job({ argv: ['printf', '%s', raw], command: `printf %s ${shellQuote(raw)}` }),
    );
    expect(inv.file).toBe('/bin/sh');
    expect([...spawnSync(inv.file, inv.args).stdout]).toEqual([...printed(raw)]);
  });

  it('gives back any byte string exactly (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes) => {
        const clean = Buffer.from(bytes.filter((b) => b !== 0)); // argv cannot hold NUL
        expect(printed(decodeBytes(clean)).equals(clean)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
