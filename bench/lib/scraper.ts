// Scrapes a child collector's /metrics once a second while it runs. prom-client's event-loop gauges
// (nodejs_eventloop_lag_p99_seconds, _max_seconds) describe the window since the previous scrape (it
// resets its histogram on each collect), so each scrape is one window; the harness being the only scraper,
// windows are one second long. The max over windows of the windowed p99 bounds the p99 of the whole span
// from above: no window has more than 1 % of its samples above it.

import { freePort } from '../../src/emulator/ports.ts'
import { parsePrometheusText, sampleValue, type Sample } from './prometheus-text.ts'

export interface Window {
  /** performance.now() when the scrape that closed the window was answered. */
  atMs: number
  p99Seconds: number
  maxSeconds: number
}

export class Scraper {
  latest: Sample[] | null = null
  readonly windows: Window[] = []
  private timer: NodeJS.Timeout | null = null
  private inflight: Promise<Sample[] | null> | null = null

  constructor(private readonly url: string) {}

  /** A free port for a collector's --metrics-port, and the scraper of that port. */
  static async onFreePort(): Promise<{ port: number; scraper: Scraper }> {
    const port = await freePort()
    return { port, scraper: new Scraper(`http://127.0.0.1:${port}/metrics`) }
  }

  /** Waits (up to `timeoutMs`) for the endpoint; the first answer resets the child's window (start-up). */
  async ready(timeoutMs = 30_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await this.scrape(false)) return true
      await new Promise((r) => setTimeout(r, 100))
    }
    return false
  }

  start(intervalMs = 1000): this {
    this.timer ??= setInterval(() => {
      if (!this.inflight) void this.scrape(true)
    }, intervalMs)
    return this
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /**
   * A fresh scrape (after the one in progress, if any: never a stale answer); null when the child does
   * not answer (not up yet, or gone).
   */
  async scrape(recordWindow = true): Promise<Sample[] | null> {
    while (this.inflight) await this.inflight
    this.inflight = this.fetch(recordWindow)
    try {
      return await this.inflight
    } finally {
      this.inflight = null
    }
  }

  private async fetch(recordWindow: boolean): Promise<Sample[] | null> {
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(5000) })
      if (!res.ok) return null
      const samples = parsePrometheusText(await res.text())
      this.latest = samples
      const p99 = sampleValue(samples, 'nodejs_eventloop_lag_p99_seconds')
      const maxLag = sampleValue(samples, 'nodejs_eventloop_lag_max_seconds')
      if (recordWindow && p99 !== undefined && maxLag !== undefined) this.windows.push({ atMs: performance.now(), p99Seconds: p99, maxSeconds: maxLag })
      return samples
    } catch {
      return null
    }
  }

  value(name: string, labels?: Record<string, string>): number | undefined {
    return this.latest ? sampleValue(this.latest, name, labels) : undefined
  }
}
