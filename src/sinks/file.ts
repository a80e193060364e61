// file:PATH sink. Chunks are buffered and, every fsyncIntervalMs (or at once on flush/close), written with
// one writev and fsynced; only then are the chunks covered confirmed. One fsync per interval instead of
// per chunk is what makes a durable file sink affordable.
//
// On an error (ENOSPC, EIO, a missing directory) the chunks are kept and the cycle is retried with backoff,
// reopening the file; nothing is confirmed that has not been fsynced. When the file is renamed or removed
// under it (logrotate), the next cycle opens a new one at the path.
//
// No record is torn across files, nor left torn in one. A write cut short (the disk filled up) is taken
// back out of the file (ftruncate to the end of the last whole chunk) before the retry. The retry goes on
// after what the batch already wrote only if the path still names that file, unchanged (same inode, same
// size); any other file there (renamed away, truncated by copytruncate) gets the whole batch again from
// its start: what reached the old file was never fsynced there, so it is not yet durable anywhere. (A
// rename between a write and its fsync loses nothing: the fsync is of the same file, under its new name.)
// A file removed while a batch went into it gets that batch again in a new file at the path. What no
// writer can see: copytruncate in the instant between a short write and the next still leaves a torn
// line (and between the size check and the cut, a run of zero bytes); logrotate's manual says copytruncate
// can lose data anyway.
//
// Devices and FIFOs (/dev/null, a pipe to another program) cannot be fsynced (EINVAL): they are written
// without fsync, said once in the log, and a chunk is confirmed once written, as on stdout.
//
// With state_dir, each batch's tagged chunks are journaled before they are written (SinkJournal in
// pipeline/checkpoints.ts): a batch written when the collector was killed, before its fsync returned, is in
// the file all the same, and recover() finds it there at the next start instead of letting its records be
// written twice (kill -9 mid-drain, test/integration/checkpoints.test.ts: 900-3,000 of 30,000 records
// twice in 4 runs of 9 without the journal, 0 in 8 of 8 with it).

import type { Stats } from 'node:fs'
import { open, stat, type FileHandle } from 'node:fs/promises'
import { crc32 } from 'node:zlib'
import { CollectorError, describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { JournaledChunk, SinkJournal } from '../pipeline/checkpoints.ts'
import { sinkPolicy, withRetry } from '../retry.ts'
import { SinkBase } from './base.ts'
import type { Pending } from './ledger.ts'
import type { ChunkTag, Confirm } from './sink.ts'

interface FileEntry extends Pending {
  readonly tag?: ChunkTag
}

export interface FileSinkOptions {
  logger: Logger
  highWaterMark?: number
  retryMaxDelayMs?: number
  fsyncIntervalMs?: number
}

/** The file the sink has open, or had open last. */
interface OpenedFile {
  readonly dev: number
  readonly ino: number
  /** A regular file: it has a size, can be cut back, and is fsynced (unless the kernel refuses). */
  readonly regular: boolean
  sync: boolean
  /** Its size once the sink's writes so far landed (one collector per file, and O_APPEND). */
  end: number
}

/** The ledger holds the unconfirmed chunks in write order: buffered, or written but not yet fsynced. */
export class FileSink extends SinkBase<FileEntry> {
  readonly kind = 'file'
  readonly framing = 'lines' as const
  readonly path: string
  readonly #logger: Logger
  readonly #retryMaxDelayMs: number
  readonly #intervalMs: number
  /** How far into the ledger's entries the bytes have reached the kernel: whole entries, then bytes of the next. */
  #writtenEntries = 0
  #writtenOffset = 0
  #handle: FileHandle | null = null
  /** What #handle is open on; kept after it is closed, to tell whether a reopen finds the same file. */
  #file: OpenedFile | null = null
  /** Writing without fsync has been logged (once per sink). */
  #saidNoSync = false
  /** The file's tail was checked for a torn line left by a crash (once per process). */
  #checked = false
  /**
   * That check, started with the sink: a collector started again after a crash may never write to its file
   * (the other collectors of a fleet drained the queue), and the torn line would stay.
   */
  readonly #tail: Promise<void>
  #lastRotationCheck = 0
  #timer: NodeJS.Timeout | null = null
  /** The running write+fsync cycle, if any; only one runs at a time. */
  #cycle: Promise<void> | null = null
  #healthy = true
  #released: Promise<void> | null = null
  readonly #abort = new AbortController()

  constructor(path: string, options: FileSinkOptions) {
    super(options.highWaterMark)
    this.path = path
    this.#logger = options.logger
    this.#retryMaxDelayMs = options.retryMaxDelayMs ?? 30_000
    this.#intervalMs = options.fsyncIntervalMs ?? 100
    // A failure here (no directory yet, no permission) is tried again, and reported, by the first write.
    this.#tail = cutTornLine(path, this.#logger).then(
      () => {
        this.#checked = true
      },
      () => {},
    )
  }

  get healthy(): boolean {
    return this.#healthy
  }

  /** state_dir: where each batch's tagged chunks are noted before they are written (recover() reads it). */
  #journal: SinkJournal | null = null

  protected override accept(chunk: Uint8Array, confirm: Confirm, tag?: ChunkTag): boolean {
    const more = this.ledger.add(tag ? { chunk, confirm, tag } : { chunk, confirm })
    // Once half the high-water mark waits, write and fsync now rather than at the next tick, so that a
    // fast producer is not held to the high-water mark per interval (at most 8 MiB per 100 ms by default).
    if (this.ledger.bytes >= this.ledger.highWaterMark / 2) this.#runNow()
    else this.#schedule()
    return more
  }

  protected override push(): void {
    this.#runNow()
  }

  protected override release(): Promise<void> {
    return this.#release()
  }

  /** The pending writes fail next, all of them: no written position is left to keep. */
  protected override stop(): void {
    this.#abort.abort()
    this.#writtenEntries = 0
    this.#writtenOffset = 0
    void this.#release()
  }

  /**
   * Starts a cycle after the interval. The timer exists only while data waits, and it keeps the process
   * alive: unconfirmed data must reach the disk even when nothing else is running.
   */
  #schedule(): void {
    if (this.#cycle !== null || this.#timer !== null || this.ledger.entries.length === 0 || this.destroyed) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#run()
    }, this.#intervalMs)
  }

  #runNow(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    if (this.#cycle === null) this.#run()
  }

  #run(): void {
    this.#cycle = this.#syncWithRetry().finally(() => {
      this.#cycle = null
      if (this.destroyed) return
      // Writes made while the cycle ran wait for the next interval, unless someone is flushing or half
      // the high-water mark is waiting already.
      if (this.ledger.flushing || this.ledger.bytes >= this.ledger.highWaterMark / 2) this.#runNow()
      else this.#schedule()
    })
  }

  /** Writes and fsyncs everything queued now, retrying under the sink policy (retry.ts) until it sticks or the sink is destroyed. */
  async #syncWithRetry(): Promise<void> {
    const signal = this.#abort.signal
    const attempt = async (): Promise<void> => {
      const count = this.ledger.entries.length
      if (count === 0 || this.destroyed) return
      try {
        await this.#writeAndSync(count)
      } catch (err) {
        if (this.destroyed) return
        this.#healthy = false
        await this.#cutPartial()
        await this.#closeHandle()
        throw err
      }
      if (this.destroyed) return
      this.#healthy = true
      this.#settle(count, null)
    }
    const onRetry = (err: unknown, attempt: number, delayMs: number) => {
      const { code, message } = describeError(err)
      this.#logger.warn({ sink: this.kind, code, message, path: this.path, attempt: attempt - 1, delayMs }, 'file write failed; retrying')
    }
    await withRetry(sinkPolicy(this.#retryMaxDelayMs), attempt, { signal, onRetry }).catch((err: unknown) => {
      if (!signal.aborted) throw err
    })
  }

  async #writeAndSync(count: number): Promise<void> {
    if (this.#handle !== null && (await this.#rotated())) {
      this.#logger.info({ sink: 'file', path: this.path }, 'the output file was moved or removed (log rotation?): opening a new one')
      await this.#closeHandle()
    }
    if (this.#handle === null) await this.#open()
    const handle = this.#handle!
    const file = this.#file!
    if (this.destroyed) return
    const entries = this.ledger.entries
    if (this.#journal !== null && file.regular && this.#writtenEntries === 0 && this.#writtenOffset === 0) this.#note(this.#journal, file, entries, count)
    while (this.#writtenEntries < count) {
      const buffers = [entries[this.#writtenEntries].chunk.subarray(this.#writtenOffset)]
      for (let i = this.#writtenEntries + 1; i < count; i++) buffers.push(entries[i].chunk)
      const { bytesWritten } = await handle.writev(buffers)
      file.end += bytesWritten
      if (this.destroyed) return
      // A short write (e.g. the disk filled up mid-way) goes on where it stopped, in this same file.
      this.#advance(bytesWritten, count)
    }
    if (file.sync) {
      try {
        await handle.sync()
      } catch (err) {
        if (describeError(err).code === 'EINVAL') {
          this.#withoutFsync(file, 'fsync_einval') // the kernel says this file cannot be synced: it never will be
        } else {
          // After a failed fsync the kernel may have dropped the dirty pages: write the whole batch again.
          // That may duplicate records, which at-least-once allows; losing them it does not.
          this.#writtenEntries = 0
          this.#writtenOffset = 0
          throw err
        }
      }
    }
    // Written and fsynced into a file nobody can open any more (removed since the last look at the path):
    // not delivered. The batch goes again, whole, into a new file at the path. One fstat per cycle.
    if (file.regular && (await handle.stat()).nlink === 0) {
      this.#writtenEntries = 0
      this.#writtenOffset = 0
      throw new CollectorError('ERR_SINK', 'the output file was removed while being written')
    }
  }

  /**
   * Opens the file at the path. What the batch wrote before a failure is kept only if this is the same
   * file, unchanged since: otherwise the batch starts again from its first chunk, here.
   */
  async #open(): Promise<void> {
    if (!this.#checked) await this.#tail
    if (!this.#checked) {
      await cutTornLine(this.path, this.#logger)
      this.#checked = true
    }
    // 'a' is O_WRONLY | O_CREAT | O_APPEND; the mode applies only when the file is created. A FIFO's open
    // waits for a reader.
    const handle = await open(this.path, 'a', 0o640)
    let info: Stats
    try {
      info = await handle.stat()
    } catch (err) {
      await handle.close().catch(() => {})
      throw err
    }
    const regular = info.isFile()
    // fsync works on regular files and block devices; on a character device or a FIFO it fails (EINVAL).
    const file: OpenedFile = { dev: info.dev, ino: info.ino, regular, sync: regular || info.isBlockDevice(), end: info.size }
    const last = this.#file
    const same = last !== null && regular && last.regular && file.dev === last.dev && file.ino === last.ino && file.end === last.end
    if (!same && (this.#writtenEntries > 0 || this.#writtenOffset > 0)) {
      this.#logger.info({ sink: 'file', path: this.path }, 'another file is at the path since a write failed (log rotation?): writing the whole batch again into it')
      this.#writtenEntries = 0
      this.#writtenOffset = 0
    }
    this.#handle = handle
    this.#file = file
    if (!file.sync) this.#withoutFsync(file, info.isFIFO() ? 'fifo' : 'device')
  }

  /** The batch's tagged chunks into the journal, where they will be in the file, before they are written. */
  #note(journal: SinkJournal, file: OpenedFile, entries: readonly FileEntry[], count: number): void {
    const chunks: JournaledChunk[] = []
    let at = file.end
    for (let i = 0; i < count; i++) {
      const { chunk, tag } = entries[i]
      if (tag) chunks.push({ start: at, end: at + chunk.byteLength, crc: crc32(chunk), tag })
      at += chunk.byteLength
    }
    if (chunks.length === 0) return
    try {
      journal.writing(this.path, { dev: file.dev, ino: file.ino, chunks })
    } catch (err) {
      // Without its note the batch is only written twice after a crash, as without a journal.
      this.#logger.warn({ sink: 'file', path: this.path, code: describeError(err).code, reason: describeError(err).message }, 'cannot journal the batch; a crash before its fsync writes it again')
    }
  }

  /**
   * At start, with state_dir: the chunks of the last batches that are in the file at the path byte for byte
   * (same device and inode, CRC-32), fsynced now, so that they count as confirmed. Later writes are
   * journaled too. What is not there whole is written again, as without a journal.
   */
  async recover(journal: SinkJournal): Promise<ChunkTag[]> {
    this.#journal = journal
    try {
      return await this.#found(journal)
    } catch (err) {
      // Only a cost: those records are written again.
      const { code, message } = describeError(err)
      this.#logger.warn({ sink: 'file', path: this.path, code, reason: message }, 'cannot read the journaled chunks back; they are written again')
      return []
    }
  }

  async #found(journal: SinkJournal): Promise<ChunkTag[]> {
    await this.#tail
    const batches = journal.written(this.path)
    if (batches.length === 0) return []
    let handle: FileHandle
    try {
      handle = await open(this.path, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
    const found: ChunkTag[] = []
    try {
      const info = await handle.stat()
      if (!info.isFile()) return []
      // In order, and nothing after the first chunk that is not there: a checkpoint counts leading records,
      // and a later chunk of an object must not stand for an earlier one that is missing. (A batch in another
      // file, before a rotation, was confirmed before the next one was written.)
      scan: for (const batch of batches) {
        if (batch.dev !== info.dev || batch.ino !== info.ino) continue
        for (const c of batch.chunks) {
          if (c.end > info.size) break scan
          const bytes = Buffer.allocUnsafe(c.end - c.start)
          const { bytesRead } = await handle.read(bytes, 0, bytes.length, c.start)
          if (bytesRead !== bytes.length || crc32(bytes) !== c.crc) break scan
          found.push(c.tag)
        }
      }
      if (found.length > 0) await handle.sync()
    } finally {
      await handle.close().catch(() => {})
    }
    if (found.length > 0) this.#logger.info({ sink: 'file', path: this.path, chunks: found.length }, 'chunks written before the last stop but never confirmed are in the file: counted as confirmed (checkpoints)')
    return found
  }

  /** From now on this file is written without fsync; said once per sink (info for a device or FIFO, which is chosen; warn when a file's fsync says EINVAL). */
  #withoutFsync(file: OpenedFile, reason: 'fifo' | 'device' | 'fsync_einval'): void {
    file.sync = false
    if (this.#saidNoSync) return
    this.#saidNoSync = true
    const fields = { sink: 'file', path: this.path, reason }
    const note = 'the output cannot be fsynced: writing it without fsync, each chunk confirmed once written'
    if (reason === 'fsync_einval') this.#logger.warn(fields, note)
    else this.#logger.info(fields, note)
  }

  /**
   * After a failed write: takes the part of a chunk it left at the end of the file back out, so that the
   * file ends with a whole record and the retry writes that chunk whole, wherever it goes. Only while the
   * file is as the sink left it; if it is not, or the cut fails, the reopen sees a changed file.
   */
  async #cutPartial(): Promise<void> {
    const handle = this.#handle
    const file = this.#file
    if (handle === null || file === null || !file.regular || this.#writtenOffset === 0) return
    try {
      if ((await handle.stat()).size !== file.end) return
      await handle.truncate(file.end - this.#writtenOffset)
      file.end -= this.#writtenOffset
      this.#writtenOffset = 0
    } catch (err) {
      this.#logger.warn({ sink: 'file', path: this.path, code: describeError(err).code }, 'could not cut a partly written record back out of the file')
    }
  }

  /**
   * Whether the path no longer names the open file (logrotate renamed it, or someone removed it), checked
   * at most once a second: then the sink opens a new file at the path, as log shippers do.
   */
  async #rotated(): Promise<boolean> {
    const now = Date.now()
    if (now - this.#lastRotationCheck < 1000) return false
    this.#lastRotationCheck = now
    const atPath = await stat(this.path).catch(() => null)
    return atPath === null || atPath.ino !== this.#file!.ino || atPath.dev !== this.#file!.dev
  }

  #advance(bytesWritten: number, count: number): void {
    let left = bytesWritten
    while (this.#writtenEntries < count) {
      const rest = this.ledger.entries[this.#writtenEntries].chunk.byteLength - this.#writtenOffset
      if (left < rest) {
        if (left === 0 && bytesWritten === 0) throw new CollectorError('ERR_SINK', 'writev wrote nothing')
        this.#writtenOffset += left
        return
      }
      left -= rest
      this.#writtenEntries++
      this.#writtenOffset = 0
    }
  }

  /** Confirms the oldest `count` entries, in order, keeping the written position on the entries that stay. */
  #settle(count: number, err: Error | null): void {
    this.#writtenEntries = Math.max(0, this.#writtenEntries - count)
    if (this.#writtenEntries === 0) this.#writtenOffset = 0
    this.ledger.settle(count, err)
  }

  #release(): Promise<void> {
    this.#released ??= (async () => {
      if (this.#timer !== null) clearTimeout(this.#timer)
      this.#timer = null
      await this.#cycle
      await this.#tail
      await this.#closeHandle()
    })()
    return this.#released
  }

  async #closeHandle(): Promise<void> {
    const handle = this.#handle
    this.#handle = null
    await handle?.close().catch(() => {}) // nothing unconfirmed depends on this close
  }
}

/**
 * A collector killed mid-write (kill -9, power loss) may leave a partial last line. Its message was not
 * deleted (nothing unsynced is confirmed), so SQS delivers the whole record again: cut the fragment, so
 * that the file holds whole records only. One collector per file: another writer's line in progress
 * would look torn.
 */
export async function cutTornLine(path: string, logger: Logger): Promise<void> {
  let handle: FileHandle
  try {
    // Only a regular file keeps what was written to it (a device or FIFO has nothing to cut).
    if (!(await stat(path)).isFile()) return
    handle = await open(path, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  try {
    const { size } = await handle.stat()
    if (size === 0) return
    const block = Buffer.allocUnsafe(64 * 1024)
    let end = size
    let keep = 0
    // Read backwards until the last newline.
    while (end > 0) {
      const start = Math.max(0, end - block.length)
      const { bytesRead } = await handle.read(block, 0, end - start, start)
      const nl = block.subarray(0, bytesRead).lastIndexOf(0x0a)
      if (nl >= 0) {
        keep = start + nl + 1
        break
      }
      end = start
    }
    if (keep === size) return
    await handle.truncate(keep)
    await handle.sync()
    logger.warn({ sink: 'file', path, cutBytes: size - keep }, 'cut a partial last line left by an earlier crash; its record comes again from SQS')
  } finally {
    await handle.close()
  }
}
