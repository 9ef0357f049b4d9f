/**
 * The end-to-end tests run the built bin (`dist/bundle/`, bundled from `dist/`), not the
 * sources. A source changed after the last build would be tested as it was before the
 * change, and a test would pass or fail for the wrong code: so an e2e test file refuses
 * to start while any `src/**.ts` is newer than its `dist/**.js` (or has none) or than the
 * bundle. `npm test` builds first.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The first source whose build output is missing or older, or undefined when all are fresh. */
export function staleSource(root = ROOT): string | undefined {
  const src = join(root, 'src');
  let bundledAt = 0;
  try {
    bundledAt = statSync(join(root, 'dist', 'bundle', 'jobrun.js')).mtimeMs;
  } catch {
    return 'src/ (there is no dist/bundle/jobrun.js)';
  }
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const built = join(root, 'dist', relative(src, file)).replace(/\.ts$/, '.js');
    let builtAt: number;
    try {
      builtAt = statSync(built).mtimeMs;
    } catch {
      return relative(root, file);
    }
    const changedAt = statSync(file).mtimeMs;
    if (changedAt > builtAt || changedAt > bundledAt) return relative(root, file);
  }
  return undefined;
}

beforeAll(() => {
  const path = expect.getState().testPath ?? '';
  if (!path.includes(`${join('test', 'e2e')}/`)) return;
  const stale = staleSource();
  if (stale !== undefined)
    throw new Error(
      `dist/ is older than ${stale}: the e2e tests run the built bin; run \`npm run build\` first`,
    );
});
