// Per-test clean-up for the integration suites: servers and child processes started in a test are
// stopped after it, in reverse order, whatever the test's outcome.
import { afterEach } from 'vitest'
import { startEmulator, type Emulator } from './fauxqs.ts'

const tasks: (() => Promise<void>)[] = []

export function useCleanup(): void {
  afterEach(async () => {
    for (const task of tasks.splice(0).reverse()) await task()
  })
}

export function cleanup(task: () => Promise<void>): void {
  tasks.push(task)
}

/** A fauxqs emulator stopped after the test. */
export async function emulator(options?: Parameters<typeof startEmulator>[0]): Promise<Emulator> {
  const emu = await startEmulator(options)
  cleanup(() => emu.stop())
  return emu
}
