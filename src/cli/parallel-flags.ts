/**
 * GNU parallel's flags that `jobrun run` spells otherwise or does without. commander
 * says only `unknown option '-N'`; a parallel user is told what to write instead.
 */

const STREAM = "--output stream (each line as it comes, after the job's name)";
const DIRECT = 'several words after -- (a program and its arguments, each word one argument)';

const INSTEAD: Readonly<Record<string, string>> = {
  '-N': '-n N (at most N items per job; {1}…{N} are their positions)',
  '--max-replace-args': '-n N (at most N items per job; {1}…{N} are their positions)',
  '-m': '-X (as many items per job as the argument limit allows)',
  '--line-buffer': STREAM,
  '--lb': STREAM,
  '-u': STREAM,
  '--ungroup': STREAM,
  '-q': DIRECT,
  '--quote': DIRECT,
  '--tagstring': "--tag (each line after the job's name and a tab)",
  '-I': 'the placeholders {} {.} {/} {//} {/.} {#}; there is no replacement string of your own',
  '--nice': 'nice in the command, e.g. -- nice -n 10 gzip {}',
};

/** What to write instead of the parallel flag commander found unknown, if it is one. */
export function parallelFlagHint(commanderMessage: string): string | undefined {
  const flag = /unknown option '([^']+)'/.exec(commanderMessage)?.[1];
  if (flag === undefined) return undefined;
  const key = flag.startsWith('--') ? flag.split('=')[0]! : flag.slice(0, 2);
  const instead = INSTEAD[key];
  return instead && `jobrun: ${key} is GNU parallel's; in jobrun, use ${instead}`;
}
