import { execFileSync } from 'node:child_process'
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { within } from '../../src/sleep.ts'
import { silentLogger } from '../../src/log.ts'
import { Checkpoints } from '../../src/pipeline/checkpoints.ts'
import { FileSink, cutTornLine } from '../../src/sinks/file.ts'
import { captureLogger, codeOf, recorder } from '../helpers/sink-harness.ts'
import { waitUntil } from '../helpers/wait.ts'

const line = (i: number, pad = 0) => Buffer.from(`{"eventID":"${i}","userAgent":"${'x'.repeat(pad)}"}\n`)

/** Writes `text` and resolves once the sink confirms it (rejects on a failed confirm). */
const writeConfirmed = (sink: FileSink, text: string) =>
  new Promise<void>((resolve, reject) => sink.write(new TextEncoder().encode(text), (err) => (err ? reject(err) : resolve())))

// Every test gets a fresh directory, removed after it.
let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-sink-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('FileSink', () => {

  it('confirms nothing before the interval, then everything in order once written and fsynced', async () => {
    const path = join(dir, 'out.ndjson')
    const sink = new FileSink(path, { logger: silentLogger(), fsyncIntervalMs: 60_000 })
    const { results, confirmFor } = recorder()
    for (let i = 0; i < 3; i++) sink.write(line(i), confirmFor(i))
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(results).toEqual([])
    expect(existsSync(path) ? readFileSync(path).length : 0).toBe(0)
    await sink.flush()
    expect(results).toEqual([0, 1, 2].map((i) => ({ i, err: null })))
    expect(await readFile(path)).toEqual(Buffer.concat([0, 1, 2].map((i) => line(i))))
    await sink.close()
  })

  it('writes on its own timer, and the bytes are in the file when the confirm fires', async () => {
    const path = join(dir, 'out.ndjson')
    const sink = new FileSink(path, { logger: silentLogger(), fsyncIntervalMs: 20 })
    const seenAtConfirm = await new Promise<Buffer>((resolve) => {
      sink.write(line(7), () => resolve(readFileSync(path)))
    })
    expect(seenAtConfirm).toEqual(line(7))
    await sink.close()
  })

  it('keeps every confirm once and in order across many cycles, and the file holds exactly the bytes', async () => {
    const path = join(dir, 'out.ndjson')
    const sink = new FileSink(path, { logger: silentLogger(), fsyncIntervalMs: 2 })
    const { results, confirmFor } = recorder()
    const chunks: Buffer[] = []
    for (let i = 0; i < 300; i++) {
      chunks.push(Buffer.concat([line(i, i % 50), line(i + 10_000)]))
      sink.write(chunks[i], confirmFor(i))
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 3))
    }
    await sink.close()
    expect(results.map((r) => r.i)).toEqual(chunks.map((_, i) => i))
    expect(results.every((r) => r.err === null)).toBe(true)
    expect(await readFile(path)).toEqual(Buffer.concat(chunks))
  })

  it('appends to an existing file and creates new files with mode 0640', async () => {
    const existing = join(dir, 'existing.ndjson')
    await writeFile(existing, 'old line\n')
    const a = new FileSink(existing, { logger: silentLogger() })
    a.write(line(1), () => {})
    await a.close()
    expect(await readFile(existing, 'utf8')).toBe(`old line\n${line(1).toString()}`)

    const fresh = join(dir, 'fresh.ndjson')
    const b = new FileSink(fresh, { logger: silentLogger() })
    b.write(line(2), () => {})
    await b.close()
    const umask = process.umask()
    expect((await stat(fresh)).mode & 0o777).toBe(0o640 & ~umask)
  })

  it('returns false at the high-water mark and emits drain once the bytes are fsynced', async () => {
    const sink = new FileSink(join(dir, 'out.ndjson'), { logger: silentLogger(), highWaterMark: 100, fsyncIntervalMs: 60_000 })
    let drains = 0
    sink.on('drain', () => drains++)
    const chunk = Buffer.from(`${'a'.repeat(59)}\n`)
    expect(sink.write(chunk, () => {})).toBe(true)
    expect(sink.write(chunk, () => {})).toBe(false)
    expect(sink.write(chunk, () => {})).toBe(false) // the caller may overshoot; nothing is dropped
    expect(drains).toBe(0)
    await sink.flush()
    expect(drains).toBe(1)
    await sink.close()
  })

  it('keeps the chunks and retries while the file cannot be opened, then writes them', async () => {
    const { logger, lines } = captureLogger()
    const path = join(dir, 'not-yet', 'out.ndjson')
    const sink = new FileSink(path, { logger, fsyncIntervalMs: 5, retryMaxDelayMs: 100 })
    const { results, confirmFor } = recorder()
    sink.write(line(1), confirmFor(1))
    sink.write(line(2), confirmFor(2))
    await waitUntil(() => lines.filter((l) => l.code === 'ENOENT').length >= 2, 'two failed attempts')
    expect(sink.healthy).toBe(false)
    expect(results).toEqual([])
    await mkdir(join(dir, 'not-yet'))
    await sink.flush()
    expect(results).toEqual([
      { i: 1, err: null },
      { i: 2, err: null },
    ])
    expect(sink.healthy).toBe(true)
    expect(await readFile(path)).toEqual(Buffer.concat([line(1), line(2)]))
    const warning = lines.find((l) => l.code === 'ENOENT')!
    expect(warning).toMatchObject({ level: 40, sink: 'file' })
    expect(JSON.stringify(lines)).not.toContain('eventID')
    await sink.close()
  })

  it('close flushes, is idempotent, and a write after it fails with ERR_SINK_CLOSED', async () => {
    const path = join(dir, 'out.ndjson')
    const sink = new FileSink(path, { logger: silentLogger(), fsyncIntervalMs: 60_000 })
    const { results, confirmFor } = recorder()
    sink.write(line(1), confirmFor(1))
    await Promise.all([sink.close(), sink.close()])
    await sink.close()
    expect(results).toEqual([{ i: 1, err: null }])
    expect(await readFile(path)).toEqual(line(1))
    expect(sink.write(line(2), confirmFor(2))).toBe(false)
    expect(codeOf(results[1].err)).toBe('ERR_SINK_CLOSED')
    await sink.flush()
  })

  it('destroy fails every pending confirm with ERR_SINK_CLOSED, in order, without writing', async () => {
    const path = join(dir, 'out.ndjson')
    const sink = new FileSink(path, { logger: silentLogger(), fsyncIntervalMs: 60_000 })
    const { results, confirmFor } = recorder()
    sink.write(line(1), confirmFor(1))
    sink.write(line(2), confirmFor(2))
    const flushed = sink.flush()
    sink.destroy()
    await flushed
    expect(results.map((r) => [r.i, codeOf(r.err)])).toEqual([
      [1, 'ERR_SINK_CLOSED'],
      [2, 'ERR_SINK_CLOSED'],
    ])
    await sink.close()
    expect(results).toHaveLength(2)
    expect(existsSync(path) ? readFileSync(path).length : 0).toBe(0)
  })
})

describe('file sink after a crash', () => {
  it('cuts a partial last line before appending, so the file holds whole records only', async () => {
    const path = join(dir, 'out.log')
    await writeFile(path, 'whole one\nwhole two\ntorn half of a rec')
    const sink = new FileSink(path, { logger: silentLogger(), fsyncIntervalMs: 1 })
    await writeConfirmed(sink, 'next\n')
    await sink.close()
    expect(await readFile(path, 'utf8')).toBe('whole one\nwhole two\nnext\n')
  })

  it('cuts it at start, though nothing is ever written (a collector of a fleet whose queue the others drained)', async () => {
    const path = join(dir, 'out.log')
    await writeFile(path, 'whole one\ntorn half of a rec')
    const sink = new FileSink(path, { logger: silentLogger() })
    await sink.close()
    expect(await readFile(path, 'utf8')).toBe('whole one\n')
  })

  it('leaves a file that ends with a newline alone, and a file with no newline at all becomes empty', async () => {
    await writeFile(join(dir, 'a'), 'x\n'.repeat(50_000))
    await cutTornLine(join(dir, 'a'), silentLogger())
    expect(await readFile(join(dir, 'a'), 'utf8')).toBe('x\n'.repeat(50_000))
    await writeFile(join(dir, 'b'), 'y'.repeat(200_000))
    await cutTornLine(join(dir, 'b'), silentLogger())
    expect(await readFile(join(dir, 'b'), 'utf8')).toBe('')
    await cutTornLine(join(dir, 'missing'), silentLogger())
  })
})

describe('file sink and log rotation', () => {
  it('opens a new file when the old one is renamed away, losing nothing', async () => {
    const path = join(dir, 'cloudtrail.log')
    const sink = new FileSink(path, { logger: silentLogger(), fsyncIntervalMs: 1 })
    await writeConfirmed(sink, 'before rotation\n')
    await rename(path, `${path}.1`) // what logrotate does
    await new Promise((r) => setTimeout(r, 1100)) // the sink looks at most once a second
    await writeConfirmed(sink, 'after rotation\n')
    await sink.close()
    expect(await readFile(`${path}.1`, 'utf8')).toBe('before rotation\n')
    expect(await readFile(path, 'utf8')).toBe('after rotation\n')
  })
})

/**
 * This process's file size limit (RLIMIT_FSIZE, soft), through prlimit(1): a write past it is cut short,
 * and the next one fails with EFBIG (Node ignores SIGXFSZ), as on a full disk. Not in effect by default.
 */
function limitFileSize(bytes: number | 'unlimited'): void {
  execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${bytes}:`])
}

/** Every line of `text` is a whole record (JSON), and it ends with a newline. */
function wholeLines(text: string): boolean {
  if (text !== '' && !text.endsWith('\n')) return false
  return text.split('\n').slice(0, -1).every((l) => {
    try {
      JSON.parse(l)
      return true
    } catch {
      return false
    }
  })
}

describe('file sink: a write cut short, then the file changes before the retry', () => {
  const prefill = Buffer.concat(Array.from({ length: 20 }, (_, i) => line(i)))
  const a = Buffer.concat(Array.from({ length: 5 }, (_, i) => line(1000 + i, 30)))
  const b = Buffer.concat(Array.from({ length: 5 }, (_, i) => line(2000 + i, 30)))

  /**
   * Writes a and b in one batch to a file that is full after a and 40 bytes of b: the write stops inside
   * b and the retries fail (EFBIG) until `rotate` runs; then resolves once both are confirmed. The file is
   * rotated while the sink waits between two attempts (one of 400 ms or more, after it cut the part of b
   * back out), as logrotate would most of the time: copytruncate in the middle of an attempt, between a
   * short write and the next, is a race the sink cannot see (logrotate's manual says so).
   */
  async function cutShortThen(path: string, rotate: () => Promise<void>) {
    await writeFile(path, prefill)
    const { logger, lines } = captureLogger()
    const sink = new FileSink(path, { logger, fsyncIntervalMs: 1 })
    limitFileSize(prefill.length + a.length + 40)
    try {
      const confirmed = Promise.all([a, b].map((chunk) => writeConfirmed(sink, chunk.toString())))
      const refused = () => lines.filter((l) => l.code === 'EFBIG')
      await waitUntil(() => refused().length >= 2 && Number(refused().at(-1)!.delayMs) >= 400, 'writes refused by the size limit, then a long wait')
      // A sink that does not cut it back (as before) is rotated all the same: the checks show what that leaves.
      await waitUntil(() => statSync(path).size === prefill.length + a.length, 'the part of b cut back out', 2_000).catch(() => {})
      await rotate()
      expect(await within(confirmed, 5_000)).toBe(true)
    } finally {
      limitFileSize('unlimited')
    }
    await sink.close()
    return { lines }
  }

  it('renamed (logrotate create): the old file is cut back to its last whole record, the new one gets the whole batch', async () => {
    const path = join(dir, 'cloudtrail.log')
    await cutShortThen(path, () => rename(path, `${path}.1`))
    const [old, fresh] = [await readFile(`${path}.1`, 'utf8'), await readFile(path, 'utf8')]
    // a reached the old file but was never fsynced there: it is written again, with b, into the new one.
    expect(old).toBe(Buffer.concat([prefill, a]).toString())
    expect(fresh).toBe(Buffer.concat([a, b]).toString())
    expect([wholeLines(old), wholeLines(fresh)]).toEqual([true, true])
  })

  it('truncated in place (logrotate copytruncate): the whole batch again, from its start', async () => {
    const path = join(dir, 'cloudtrail.log')
    await cutShortThen(path, async () => {
      await copyFile(path, `${path}.1`)
      await truncate(path, 0)
    })
    const fresh = await readFile(path, 'utf8')
    expect(fresh).toBe(Buffer.concat([a, b]).toString())
    expect(wholeLines(fresh)).toBe(true)
  })

  it('the same file, unchanged: the retry goes on after what is already there, and the file holds each record once', async () => {
    const path = join(dir, 'cloudtrail.log')
    await cutShortThen(path, async () => limitFileSize('unlimited'))
    const text = await readFile(path, 'utf8')
    expect(text).toBe(Buffer.concat([prefill, a, b]).toString())
    expect(wholeLines(text)).toBe(true)
  })
})

describe('file sink: the file removed while a batch is written', () => {
  it('writes that batch again into a new file at the path, not only into the removed one', async () => {
    const path = join(dir, 'cloudtrail.log')
    const sink = new FileSink(path, { logger: silentLogger(), fsyncIntervalMs: 1 })
    await writeConfirmed(sink, 'first\n')
    await writeConfirmed(sink, 'second\n') // the sink has looked at the path now, and looks again in a second
    await rm(path)
    await writeConfirmed(sink, 'third\n')
    await sink.close()
    expect(await readFile(path, 'utf8')).toBe('third\n')
  })
})

describe('file sink to files that cannot be fsynced', () => {
  it('writes /dev/null without fsync, confirms, and says so once', async () => {
    const { logger, lines } = captureLogger()
    const sink = new FileSink('/dev/null', { logger, fsyncIntervalMs: 1 })
    for (let i = 0; i < 3; i++) expect(await within(writeConfirmed(sink, `record ${i}\n`), 5_000)).toBe(true)
    expect(await within(sink.close(), 5_000)).toBe(true)
    expect(sink.healthy).toBe(true)
    const said = lines.filter((l) => /without fsync/.test(String(l.msg)))
    expect(said).toHaveLength(1)
    expect(said[0]).toMatchObject({ sink: 'file', path: '/dev/null' })
    expect(lines.filter((l) => Number(l.level) >= 40 && !said.includes(l))).toEqual([])
  })

  it('writes a FIFO without fsync: the reader gets every record, once, in order', async () => {
    const fifo = join(dir, 'records.fifo')
    execFileSync('mkfifo', [fifo])
    const received: Buffer[] = []
    const reader = createReadStream(fifo)
    reader.on('data', (d) => received.push(d as Buffer))
    const ended = new Promise((resolve) => reader.on('end', () => resolve(null)))
    const { logger, lines } = captureLogger()
    const sink = new FileSink(fifo, { logger, fsyncIntervalMs: 1 })
    const chunks = Array.from({ length: 3 }, (_, i) => line(i, 100))
    for (const chunk of chunks) expect(await within(writeConfirmed(sink, chunk.toString()), 5_000)).toBe(true)
    expect(await within(sink.close(), 5_000)).toBe(true)
    expect(await within(ended, 5_000)).toBe(true)
    expect(Buffer.concat(received)).toEqual(Buffer.concat(chunks))
    expect(lines.filter((l) => /without fsync/.test(String(l.msg)))).toHaveLength(1)
  })
})

describe('file sink with a journal (state_dir): what a crash left written but unconfirmed', () => {
  const tag = (object: number, through: number) => ({ bucket: 'b', key: `k/${object} ü`, etag: `"e${object}"`, through })

  /** Two batches of tagged chunks, written and confirmed; the journal then holds both, as after a crash before their fsync. */
  async function written(path: string, stateDir: string) {
    const store = await Checkpoints.open(stateDir, silentLogger())
    const sink = new FileSink(path, { logger: silentLogger(), fsyncIntervalMs: 60_000 })
    expect(await sink.recover(store.journal)).toEqual([])
    sink.write(line(0), () => {}, tag(0, 2))
    sink.write(line(1), () => {}, tag(0, 5))
    await sink.flush()
    sink.write(line(2), () => {}) // no tag: not journaled, but its bytes count for the offsets after it
    sink.write(line(3), () => {}, tag(1, 1))
    await sink.flush()
    await sink.close()
    return store
  }

  it('finds every journaled chunk that is in the file byte for byte, in order', async () => {
    const path = join(dir, 'out.ndjson')
    const store = await written(path, join(dir, 'state'))
    const again = new FileSink(path, { logger: silentLogger() })
    expect(await again.recover(store.journal)).toEqual([tag(0, 2), tag(0, 5), tag(1, 1)])
    await again.close()
    store.close()
  })

  it('stops at the first chunk that is not there whole: cut short, or changed', async () => {
    const path = join(dir, 'out.ndjson')
    const store = await written(path, join(dir, 'state'))
    const size = (await stat(path)).size
    await truncate(path, size - 3) // the last chunk torn
    const cut = new FileSink(path, { logger: silentLogger() })
    expect(await cut.recover(store.journal)).toEqual([tag(0, 2), tag(0, 5)])
    // A byte of the second chunk changed (a power loss's zeros, say): neither it nor anything after counts.
    const bytes = await readFile(path)
    bytes[line(0).length + 5] ^= 0x20
    await writeFile(path, bytes)
    const changed = new FileSink(path, { logger: silentLogger() })
    expect(await changed.recover(store.journal)).toEqual([tag(0, 2)])
    await cut.close()
    await changed.close()
    store.close()
  })

  it('counts nothing in another file at the path (rotated, or replaced), and nothing when the file is gone', async () => {
    const path = join(dir, 'out.ndjson')
    const store = await written(path, join(dir, 'state'))
    const bytes = await readFile(path)
    await rename(path, `${path}.1`)
    const gone = new FileSink(path, { logger: silentLogger() })
    expect(await gone.recover(store.journal)).toEqual([])
    await writeFile(path, bytes) // the same bytes, another inode
    const other = new FileSink(path, { logger: silentLogger() })
    expect(await other.recover(store.journal)).toEqual([])
    await gone.close()
    await other.close()
    store.close()
  })

  it('keeps the journal to the last batches', async () => {
    const path = join(dir, 'out.ndjson')
    const store = await Checkpoints.open(join(dir, 'state'), silentLogger())
    const sink = new FileSink(path, { logger: silentLogger(), fsyncIntervalMs: 60_000 })
    await sink.recover(store.journal)
    for (let b = 0; b < 10; b++) {
      sink.write(line(b), () => {}, tag(b, 1))
      await sink.flush()
    }
    await sink.close()
    expect(store.journal.written(path).map((batch) => batch.chunks[0].tag.key)).toEqual([6, 7, 8, 9].map((b) => `k/${b} ü`))
    store.close()
  })
})
