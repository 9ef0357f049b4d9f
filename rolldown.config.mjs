// The CLI as an entry and some fifty chunks (the parts loaded only when a run needs
// them: Redis, metrics, the manifest's full validation, apart): Node resolves and reads
// each ES module on its own, and jobrun's ~180 cost more start-up than running its code. tsc still writes
// dist/ (types, and the modules the tests and benches import); bin/jobrun.js loads this.
// Packages from node_modules stay outside, loaded as they are.
import { isAbsolute } from 'node:path';

export default {
  // early-stops on its own, loaded first: it holds stop signals while the rest loads
  input: { jobrun: 'dist/cli/main.js', 'early-stops': 'dist/cli/early-stops.js' },
  platform: 'node',
  // bare imports (packages, node:) stay outside; once resolved, only what is in
  // node_modules (an absolute path is a module of jobrun's own, C:\ on Windows too)
  external: (id, _importer, resolved) =>
    resolved ? /[\\/]node_modules[\\/]/.test(id) : !id.startsWith('.') && !isAbsolute(id),
  output: {
    dir: 'dist/bundle',
    format: 'esm',
    chunkFileNames: '[name]-[hash].js',
    sourcemap: true,
    cleanDir: true,
  },
};
