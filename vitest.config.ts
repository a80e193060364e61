import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration suites start servers and child collectors; on a 2-core machine running them two at a
    // time keeps timings honest.
    maxWorkers: 2,
    // CI shows only the tail of the output: end it with a short list of what failed.
    reporters: ['default', './test/helpers/failure-summary.ts'],
  },
})
