/**
 * `jobrun run --help` in groups, the options every ad-hoc run needs first, in the 80
 * columns of a terminal. The table lists options by their long flag; one missing from it
 * lands under "Other options:", which `test/cli/help.test.ts` refuses, so a new flag is
 * put in its group when it is added. Flags named here that a command lacks are skipped.
 */
import type { Command, Option } from 'commander';

const GROUPS: [heading: string, flags: string[]][] = [
  [
    'Input:',
    [
      '--glob',
      '--stdin',
      '--shell',
      '--null',
      '--delimiter',
      '--colsep',
      '--header',
      '--csv',
      '--link',
      '--max-args',
      '--xargs',
      '--require-input',
    ],
  ],
  [
    'Running:',
    [
      '--workers',
      '--dry-run',
      '--cwd',
      '--retries',
      '--timeout',
      '--fail-fast',
      '--halt',
      '--resume',
      '--only',
      '--order',
      '--kill-grace',
      '--backoff',
      '--graceful',
      '--max-queue',
      '--max-load',
      '--min-free-mem',
      '--delay',
      '--cache',
      '--cache-dir',
      '--cache-max',
      '--no-cache',
      '--cache-output',
      '--explain',
      '--spawner',
    ],
  ],
  [
    'Output:',
    [
      '--output',
      '--keep-order',
      '--tag',
      '--bar',
      '--eta',
      '--progress',
      '--summary',
      '--logs',
      '--keep-logs',
    ],
  ],
  [
    'Reports:',
    [
      '--json',
      '--events',
      '--report',
      '--junit',
      '--html',
      '--joblog',
      '--results',
      '--capture',
      '--capture-max',
      '--metrics-port',
      '--alert-queue-depth',
      '--alert-failure-rate',
      '--alert-stalled',
      '--alert-run',
      '--on-end',
    ],
  ],
  ['Distributed:', ['--backend', '--redis-url-file', '--redis-timeout', '--unserved-notice']],
];

/** Where an option the table does not list is shown (the help test refuses it). */
const UNGROUPED = 'Other options:';

/** The help's width: the terminal's, at most 80 columns (and 80 when not a terminal). */
export function helpWidth(stream: NodeJS.WriteStream): number {
  return Math.min(80, stream.isTTY ? stream.columns : 80);
}

/** Puts `cmd`'s options in their groups, in the table's order; `-h` goes last, alone. */
export function groupHelp(cmd: Command): Command {
  const options = cmd.options as Option[];
  const rank = new Map<string, number>();
  GROUPS.forEach(([, flags], g) => flags.forEach((f, i) => rank.set(f, g * 100 + i)));
  const place = (o: Option) => rank.get(o.long ?? '') ?? GROUPS.length * 100;
  for (const option of options) {
    const at = rank.get(option.long ?? '');
    option.helpGroup(at === undefined ? UNGROUPED : GROUPS[Math.floor(at / 100)]![0]);
  }
  options.sort((a, b) => place(a) - place(b));
  cmd.helpOption('-h, --help', 'show this help');
  return cmd;
}
