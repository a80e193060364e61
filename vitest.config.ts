import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most suites wait (long polls, visibility timeouts, rate windows, outages) rather than compute: four
    // files at a time on this 2-core host take the suite from 218-252 s (two at a time) to 132-138 s (two
    // runs; three at a time 158 s), all green on Node 24: each suite's timing bounds allow a loaded host.
    maxWorkers: 4,
    // CI shows only the tail of the output: end it with a short list of what failed.
    reporters: ['default', './test/helpers/failure-summary.ts'],
  },
})
