import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Reporter } from 'vitest/reporters';
import { SKIP_NOTES } from './skips.js';

/**
 * A vitest reporter that prints, as the run's last line, which suites were skipped for
 * want of a system package and the one command that installs all of them.
 */
export default class SkipNotice implements Reporter {
  onInit(): void {
    rmSync(SKIP_NOTES, { recursive: true, force: true });
  }

  onTestRunEnd(): void {
    let files: string[] = [];
    try {
      files = readdirSync(SKIP_NOTES).sort();
    } catch {
      return; // nothing was skipped
    }
    const notes = files.map(
      (f) =>
        JSON.parse(readFileSync(join(SKIP_NOTES, f), 'utf8')) as { suite: string; install: string },
    );
    if (notes.length === 0) return;
    const installs = [...new Set(notes.flatMap((n) => n.install.split(' ')))];
    console.log(
      `Skipped for want of system packages: ${notes.map((n) => n.suite).join(', ')}. ` +
        `Install them with: apt-get install -y ${installs.join(' ')}`,
    );
  }
}
