import fs from 'node:fs';
import path from 'node:path';
import { waitFor, writeFiles } from './helpers.js';

/** The size of the big entry's output: long enough to store that a kill lands mid-write. */
export const BIG_BYTES = 100_000_000;

/**
 * Writes `jobs.yaml` with one cached job, `big`, whose output `big.bin` is `BIG_BYTES`
 * of random bytes; it appends `big` to `ran.log` each time it really runs.
 */
export function writeBigEntryBatch(dir: string): void {
  writeFiles(dir, {
    'jobs.yaml': `version: 1
jobs:
  - name: big
    run: "echo big >> ran.log && head -c ${BIG_BYTES} /dev/urandom > big.bin"
    cache: true
    outputs: [big.bin]
`,
  });
}

/** Resolves once the cache in `cacheDir` is copying an output into its store. */
export function storeWriteStarted(cacheDir: string): Promise<boolean> {
  const tmp = path.join(cacheDir, 'tmp');
  return waitFor(
    () => fs.existsSync(tmp) && fs.readdirSync(tmp).length > 0,
    100_000,
    'a store write',
  );
}
