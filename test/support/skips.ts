import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Suites that skip because the machine lacks a system package leave a note here, and
 * the skip-notice reporter (vitest.config.ts) sums them up in one line at the end of
 * `npm test`, with the command that installs what they need.
 */
export const SKIP_NOTES = fileURLToPath(new URL('../../test-results/skipped/', import.meta.url));

export function noteSkipped(suite: string, install: string): void {
  mkdirSync(SKIP_NOTES, { recursive: true });
  const file = suite.replace(/[^\w.-]+/g, '_') + '.json';
  writeFileSync(join(SKIP_NOTES, file), JSON.stringify({ suite, install }));
}
