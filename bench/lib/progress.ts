// A progress line while a benchmark runs: rewritten in place on a terminal, one line every 10 s otherwise
// (so that CI logs and `make bench | tee` stay readable). Written to stderr; results go to stdout.

export class Progress {
  private timer: NodeJS.Timeout | null = null
  private lastPrinted = 0
  private shown = false

  constructor(
    private readonly render: () => string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly everyMs = 10_000,
  ) {}

  start(): this {
    this.lastPrinted = Date.now()
    this.timer ??= setInterval(() => this.tick(), 1000)
    this.timer.unref()
    return this
  }

  /** Clears the line (terminal) and stops. */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    if (this.stream.isTTY && this.shown) this.stream.write('\r\x1b[K')
    this.shown = false
  }

  private tick(): void {
    const line = this.render()
    if (this.stream.isTTY) {
      const columns = this.stream.columns || 120
      this.stream.write(`\r\x1b[K${line.slice(0, columns - 1)}`)
      this.shown = true
    } else if (Date.now() - this.lastPrinted >= this.everyMs) {
      this.lastPrinted = Date.now()
      this.stream.write(`${line}\n`)
    }
  }
}

/** A message on its own line, not mixed into the progress line. */
export function note(message: string, stream: NodeJS.WriteStream = process.stderr): void {
  stream.write(stream.isTTY ? `\r\x1b[K${message}\n` : `${message}\n`)
}
