// Ports and memory of the processes the integration tests start (the emulator harness holds them: the
// benchmarks and `make soak` use them too).

export { freePort } from '../../src/emulator/ports.ts'
export { peakRss } from '../../src/emulator/peak-rss.ts'
