import fs from 'node:fs';
import { writeFileAtomic } from '../reporters/atomic.js';
import type { Report } from '../reporters/report.js';

/**
 * Brings a `--report` file in line with how the process ends, when that was settled
 * after the report was written: stdout's reader left while the JSON went out (exit
 * 141), or jobrun's own stdout or stderr could not be written (`outputError`, exit 1).
 * A report that could not be written or read stays as it is.
 */
export async function settleReport(
  file: string,
  exitCode: number,
  outputError: string | undefined,
): Promise<void> {
  let report: Report;
  try {
    // only a report jobrun wrote whole: /dev/full, a FIFO or /dev/stdout are not read back
    if (!fs.statSync(file).isFile()) return;
    report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
  } catch {
    return;
  }
  report.exitCode = exitCode;
  if (outputError !== undefined) report.outputError = outputError;
  try {
    await writeFileAtomic(file, JSON.stringify(report, null, 2) + '\n');
  } catch {
    // the report as first written is still there; the exit code says the rest
  }
}
