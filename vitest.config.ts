import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // e2e tests refuse a dist/ older than src/ (they run the built bin)
    setupFiles: ['./test/support/fresh-dist.ts'],
    // the last line names suites skipped for want of a system package (only Redis can be)
    reporters: ['default', './test/support/skip-notice.ts'],
  },
});
