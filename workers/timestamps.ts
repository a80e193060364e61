// Timestamps written on every record, computed once per second rather than once per record.

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const two = (n: number) => (n < 10 ? '0' : '') + n

/** C's ctime() without the newline, in local time: "Fri Oct 10 14:44:23 2014", "Fri Oct  3 …". */
export function ctime(d: Date): string {
  const day = d.getDate()
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${day < 10 ? ' ' : ''}${day} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`
}

/** RFC 5424 TIMESTAMP in UTC, to the second: "2026-11-26T15:02:56Z". */
export function syslogTime(d: Date): string {
  return d.toISOString().slice(0, 19) + 'Z'
}

/** A string that depends only on the current second, rebuilt when the second changes. */
export class PerSecond {
  private second = -1
  private value = ''

  constructor(
    private readonly render: (d: Date) => string,
    private readonly clock: () => number = Date.now,
  ) {}

  get(): string {
    const now = this.clock()
    const second = Math.floor(now / 1000)
    if (second !== this.second) {
      this.second = second
      this.value = this.render(new Date(second * 1000))
    }
    return this.value
  }
}
