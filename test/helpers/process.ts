// Small helpers about processes and ports for the integration tests (they live in bench/lib: the
// benchmarks and `make soak` use them too).

export { freePort } from '../../bench/lib/ports.ts'
export { peakRss } from '../../bench/lib/machine.ts'
