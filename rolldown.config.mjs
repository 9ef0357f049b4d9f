// The CLI as one module (and a chunk per part loaded only when a run needs it: Redis,
// metrics, the manifest's full validation): Node resolves and reads each ES module of
// its own, and jobrun's ~180 cost more start-up than running its code. tsc still writes
// dist/ (types, and the modules the tests and benches import); bin/jobrun.js loads this.
// Packages from node_modules stay outside, loaded as they are.
export default {
  // early-stops on its own, loaded first: it holds stop signals while the rest loads
  input: { jobrun: 'dist/cli/main.js', 'early-stops': 'dist/cli/early-stops.js' },
  platform: 'node',
  external: (id) => !id.startsWith('.') && !id.startsWith('/'),
  output: {
    dir: 'dist/bundle',
    format: 'esm',
    chunkFileNames: '[name]-[hash].js',
    sourcemap: true,
    cleanDir: true,
  },
};
