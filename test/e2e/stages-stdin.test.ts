import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';
import { byName } from './stages-helpers.js';

/** extract → t-* (a JSON result each, one fails but is allowed to) → load reads them all on stdin. */
const FAN_IN = `version: 1
jobs:
  - name: extract
    run: printf 'a\\nb\\nc\\n'
  - name: t-{item}
    for_each: { from: extract }
    run: "echo '{\\"n\\": \\"{item}\\"}'"
    capture: json
  - name: load
    stdin: { from: "t-{item}" }
    run: cat > got; readlink /proc/$$/fd/0 > fd
  - name: plain
    run: readlink /proc/$$/fd/0 > plain-fd
`;

describe('stdin: { from } hands a job its sources’ results', () => {
  for (const spawner of ['helper', 'child'])
    it(`as a file of JSON lines, in order, with --spawner ${spawner}`, async () => {
      const dir = tempDir();
      writeFiles(dir, { 'm.yaml': FAN_IN });
      const r = await jobrun(['run', 'm.yaml', '--json', '--spawner', spawner], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const jobs = byName(JSON.parse(r.stdout) as Report);
      expect(jobs.load!.needs).toEqual(['t-a', 't-b', 't-c']);
      const lines = fs.readFileSync(path.join(dir, 'got'), 'utf8').trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual([
        { name: 't-a', result: { n: 'a' } },
        { name: 't-b', result: { n: 'b' } },
        { name: 't-c', result: { n: 'c' } },
      ]);
      // a file jobrun wrote, not a pipe it must keep fed; other jobs keep /dev/null
      expect(fs.readFileSync(path.join(dir, 'fd'), 'utf8')).toMatch(/\/\d+-load\.stdin\n$/);
      expect(fs.readFileSync(path.join(dir, 'plain-fd'), 'utf8')).toBe('/dev/null\n');
    });

  it('reads a plain job’s lines (it captures them for the fan-in) and needs it', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': `version: 1
jobs:
  - name: src
    run: printf 'x\\ny\\n'
  - name: sum
    stdin: { from: src }
    run: cat
    capture: stdout
`,
    });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(jobs.sum).toMatchObject({
      needs: ['src'],
      result: '{"name":"src","result":["x","y"]}\n',
    });
  });
});
