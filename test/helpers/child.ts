// Stopping a child process the tests started (a collector, Prometheus, rsyslogd).
import type { ChildProcess } from 'node:child_process'
import { once } from 'node:events'

/** Sends SIGTERM, then SIGKILL if the process has not exited after `graceMs`. */
export async function terminate(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}
