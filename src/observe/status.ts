// The live status line of `run` and `demo`, printed every few seconds when stdout is a terminal and not
// the sink: throughput, backlog, message lag and FortiSIEM's capacity ratio at a glance. Otherwise (a
// service, a container) the same figures go to the log every stats_log_interval, as Filebeat logs its
// metrics every 30 s.

import type { Logger } from '../log.ts'

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
export function startStatusLine(read: () => StatusSource, out: NodeJS.WritableStream, everyMs: number): () => void {
  const timer = setInterval(() => out.write(`${statusLine(read())}\n`), everyMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** The status figures as log fields: rates to one decimal, unknowns as null. */
export function statsFields(s: StatusSource): Record<string, number | null> {
  const round = (n: number | null, digits: number) => (n === null || Number.isNaN(n) ? null : Number(n.toFixed(digits)))
  return {
    eventsPerSecond: round(s.eventsPerSecond, 1),
    messagesPerSecond: round(s.messagesPerSecond, 1),
    backlog: s.backlog,
    inflight: s.inflight,
    messageLagSeconds: round(s.messageLag, 1),
    capacityRatio: round(s.capacityRatio, 2),
    errors: s.errors,
  }
}

/** Logs statsFields() at info every `everyMs` until stopped. */
export function startStatsLog(read: () => StatusSource, log: Logger, everyMs: number): () => void {
  const timer = setInterval(() => log.info(statsFields(read()), 'stats'), everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
