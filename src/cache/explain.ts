/**
 * Why a cached job runs: what differs between its key's parts and those of the last
 * entry stored for a job of the same name, in words (`input data/a.csv: content
 * changed`, `env API_URL: changed`, `command: changed`).
 */

/** The parts whose change is named by what they are, not by "content". */
const CONTENT = /^(input|folder) /;

/** One line per part that differs, in label order; empty when none does. */
export function keyChanges(before: Record<string, string>, now: Record<string, string>): string[] {
  const labels = [...new Set([...Object.keys(before), ...Object.keys(now)])].sort();
  const lines: string[] = [];
  for (const label of labels) {
    const was = before[label];
    const is = now[label];
    if (was === is) continue;
    if (was === undefined) lines.push(`${label}: ${CONTENT.test(label) ? 'new' : 'added'}`);
    else if (is === undefined) lines.push(`${label}: no longer part of the key`);
    else if (is === 'missing') lines.push(`${label}: now missing`);
    else if (was === 'missing') lines.push(`${label}: now present`);
    else if (label.startsWith('folder ')) lines.push(`${label}: listing changed`);
    else if (label.startsWith('input ')) lines.push(`${label}: content changed`);
    else if (label.startsWith('need ')) lines.push(`${label}: changed`);
    else lines.push(`${label}: changed`);
  }
  return lines;
}
