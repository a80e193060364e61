// The live status line of `run` and `demo`, printed every few seconds when stdout is a terminal and not
// the sink: throughput, backlog, message lag and FortiSIEM's capacity ratio at a glance.

export interface StatusSource {
  eventsPerSecond: number
  messagesPerSecond: number
  backlog: number | null
  inflight: number | null
  messageLag: number | null
  capacityRatio: number | null
  errors: number
}

const fmt = (n: number | null, digits = 0) =>
  n === null || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

export function statusLine(s: StatusSource): string {
  return [
    `events/s ${fmt(s.eventsPerSecond)}`,
    `messages/s ${fmt(s.messagesPerSecond, 1)}`,
    `backlog ${fmt(s.backlog)}${s.inflight === null ? '' : ` (+${fmt(s.inflight)} in flight)`}`,
    `message lag ${s.messageLag === null ? '–' : `${fmt(s.messageLag, 1)} s`}`,
    `capacity ratio ${fmt(s.capacityRatio, 2)}`,
    `errors ${fmt(s.errors)}`,
  ].join(' | ')
}

/** Prints statusLine() every `everyMs` to `out` until stopped. */
export function startStatusLine(read: () => StatusSource, out: NodeJS.WritableStream, everyMs = 5000): () => void {
  const timer = setInterval(() => out.write(`${statusLine(read())}\n`), everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
