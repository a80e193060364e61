// Per-object checkpoints (state_dir): for every object in flight, how many of its leading `Records`
// elements the sink has confirmed, kept across a crash so that a collector started again after kill -9
// resumes each object after its last confirmed record, and does not write again an object that was
// confirmed whole (its message is only deleted). Keyed by bucket, key and ETag: CloudTrail never rewrites
// an object, and a different ETag under the same key is a different content, with no checkpoint.
//
//   processor: chunk confirmed ─▶ advance(id, n) ─▶ memory (the lookups) ─┐
//                                                 pending (coalesced)    ├─▶ one transaction every FLUSH_MS
//   acker: message deleted     ─▶ remove(ids)   ─▶ pending deletes       ┘
//
// Lookups never touch the store: every entry is in memory (loaded once at start), and only this process
// writes the file. Writes leave the hot path: each confirmation changes a map, and a timer commits what
// piled up in one transaction (measured in the README's *Checkpoints*: a commit of a few dozen rows costs
// tens of microseconds, next to the milliseconds of parsing they stand for).
//
// The store: Node's built-in SQLite (`node:sqlite`, Node ≥ 22.13 without a flag), in WAL mode with
// synchronous=NORMAL. Chosen over better-sqlite3 and lmdb because it needs no native build and no download
// (better-sqlite3's prebuilt binaries come from GitHub releases, and without them node-gyp builds it; lmdb
// ships per-platform binaries as optional packages): nothing to install, the same on every platform. A
// committed transaction survives kill -9 (WAL: the commit is in the OS's file before the call returns);
// a power loss may lose the last commits (synchronous=NORMAL skips the fsync per commit), never corrupt
// the file. Either way a lost checkpoint only means those records are written again (a duplicate, never
// a loss). Node 22 prints one "ExperimentalWarning: SQLite is an experimental feature" on the first use
// (Node 24 none); it is left as it is (nothing is silenced), and printed only when state_dir is set.
//
// What a checkpoint promises: records are counted only once the sink confirmed them (file: fsynced; http:
// 2xx; syslog: handed to the kernel, as for the delete), and only the leading ones confirmed without a
// gap. A crash between the sink's confirmation and the commit (at most FLUSH_MS, and the commit's own
// time) writes those records again: a duplicate, never a loss.
//
// Bounded: at most MAX_ENTRIES entries (the oldest go first) and none older than MAX_AGE_MS (14 days,
// SQS's longest retention: no message can bring an older one back). Entries are removed when their message
// is deleted, so what stays is the objects of messages that were not (a crash, a retry, the dead-letter
// queue). One collector per state_dir: the file is locked (SQLite's exclusive locking mode) while it runs.

import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { CollectorError, describeError } from '../errors.ts'
import type { Logger } from '../log.ts'
import type { ChunkTag } from '../sinks/sink.ts'

/**
 * At most one commit per this many ms: confirmations that arrive together (one fsync's, one POST's) are
 * committed together right after (setImmediate), and a stream of them piles up for at most this long.
 */
export const FLUSH_MS = 5
export const MAX_ENTRIES = 100_000
export const MAX_AGE_MS = 14 * 24 * 3600 * 1000
/** How often entries past MAX_AGE_MS are looked for while running (at start too). */
const PRUNE_EVERY_MS = 10 * 60 * 1000

export interface Checkpoint {
  /** Leading elements of the object's `Records` confirmed by the sink (or settled: skipped ones count). */
  readonly records: number
  /** Every record of the object was confirmed: it is not written again. */
  readonly complete: boolean
}

interface Entry extends Checkpoint {
  readonly bucket: string
  readonly key: string
  readonly etag: string
  readonly updated: number
}

export interface CheckpointOptions {
  maxEntries?: number
  maxAgeMs?: number
  flushMs?: number
  clock?: () => number
}

/** The checkpoint's id: bucket and ETag cannot hold a NUL, and the key, which may hold anything, comes last. */
export function checkpointId(bucket: string, key: string, etag: string): string {
  return `${bucket}\u0000${etag}\u0000${key}`
}

/** A chunk the file sink is about to write: where in the file, its CRC-32, and what it completes. */
export interface JournaledChunk {
  readonly start: number
  readonly end: number
  readonly crc: number
  readonly tag: ChunkTag
}

/** The file (by device and inode) a batch of chunks went into. */
export interface JournaledBatch {
  readonly dev: number
  readonly ino: number
  readonly chunks: JournaledChunk[]
}

/** Batches the journal keeps: the one being written, and those whose checkpoints may not be committed yet. */
const JOURNAL_BATCHES = 4

/**
 * The file sink's journal (sinks/file.ts), in the same store: before each batch is written, its tagged chunks
 * (offsets in the file, CRC-32, object and records through). After kill -9 what was written is in the file
 * even though its fsync never returned, and so never confirmed: a collector started again finds each such
 * chunk there, byte for byte, fsyncs it and counts it as confirmed, instead of writing it a second time.
 * A chunk not there whole and unchanged (a torn write, a power loss, another file at the path) is simply
 * written again. Only the last JOURNAL_BATCHES batches are kept: older ones were confirmed and committed.
 */
export class SinkJournal {
  private batch = 0
  private readonly insert: StatementSync
  private readonly prune: StatementSync

  constructor(private readonly db: DatabaseSync) {
    db.exec(`CREATE TABLE IF NOT EXISTS sink_chunks (seq INTEGER PRIMARY KEY, batch INTEGER NOT NULL, path BLOB NOT NULL,
      dev INTEGER NOT NULL, ino INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, crc INTEGER NOT NULL,
      bucket TEXT NOT NULL, key BLOB NOT NULL, etag TEXT NOT NULL, through INTEGER NOT NULL)`)
    const last = db.prepare('SELECT max(batch) AS batch FROM sink_chunks').get() as { batch: number | null } | undefined
    this.batch = Number(last?.batch ?? 0)
    this.insert = db.prepare('INSERT INTO sink_chunks (batch, path, dev, ino, start, end, crc, bucket, key, etag, through) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
    this.prune = db.prepare('DELETE FROM sink_chunks WHERE batch <= ?')
  }

  /** Before the batch is written: committed at once (one transaction of a few rows, each batch ≥ 100 ms apart). */
  writing(path: string, batch: JournaledBatch): void {
    const n = ++this.batch
    this.db.exec('BEGIN')
    try {
      this.prune.run(n - JOURNAL_BATCHES)
      const p = keyBytes(path)
      for (const c of batch.chunks) this.insert.run(n, p, batch.dev, batch.ino, c.start, c.end, c.crc, c.tag.bucket, keyBytes(c.tag.key), c.tag.etag, c.tag.through)
      this.db.exec('COMMIT')
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
  }

  /** What the last batches for `path` were, oldest first. */
  written(path: string): JournaledBatch[] {
    const rows = this.db.prepare('SELECT batch, dev, ino, start, end, crc, bucket, key, etag, through FROM sink_chunks WHERE path = ? ORDER BY seq').all(keyBytes(path)) as unknown as Array<{
      batch: number
      dev: number
      ino: number
      start: number
      end: number
      crc: number
      bucket: string
      key: Uint8Array
      etag: string
      through: number
    }>
    const batches = new Map<number, JournaledBatch>()
    for (const r of rows) {
      let b = batches.get(Number(r.batch))
      if (!b) batches.set(Number(r.batch), (b = { dev: Number(r.dev), ino: Number(r.ino), chunks: [] }))
      b.chunks.push({ start: Number(r.start), end: Number(r.end), crc: Number(r.crc), tag: { bucket: r.bucket, key: utf8.decode(r.key), etag: r.etag, through: Number(r.through) } })
    }
    return [...batches.values()]
  }
}

export class Checkpoints {
  /** The file sink's journal (state_dir with a file: output). */
  readonly journal: SinkJournal
  /** Every entry, oldest update first (an update moves it to the end). */
  private readonly entries = new Map<string, Entry>()
  /** What the next commit writes: an entry, or null to delete it. */
  private readonly pending = new Map<string, Entry | null>()
  private timer: { cancel(): void } | null = null
  private lastCommit = -Infinity
  private readonly pruner: NodeJS.Timeout
  private closed = false
  private readonly upsert: StatementSync
  private readonly remover: StatementSync
  private readonly maxEntries: number
  private readonly maxAgeMs: number
  private readonly flushMs: number
  private readonly clock: () => number
  /** Commits, rows written and milliseconds spent committing (the cost figure of the README). */
  readonly stats = { commits: 0, rows: 0, ms: 0, failures: 0 }

  private constructor(
    private readonly db: DatabaseSync,
    readonly path: string,
    private readonly log: Logger,
    options: CheckpointOptions,
  ) {
    this.maxEntries = options.maxEntries ?? MAX_ENTRIES
    this.maxAgeMs = options.maxAgeMs ?? MAX_AGE_MS
    this.flushMs = options.flushMs ?? FLUSH_MS
    this.clock = options.clock ?? Date.now
    // The larger count and completeness win: two deliveries of one object (two messages naming it) count
    // the same records, and either one's confirmation is the sink's.
    this.upsert = db.prepare(
      `INSERT INTO checkpoints (bucket, key, etag, records, complete, updated) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket, key, etag) DO UPDATE SET records = max(records, excluded.records),
       complete = max(complete, excluded.complete), updated = excluded.updated`,
    )
    this.remover = db.prepare('DELETE FROM checkpoints WHERE bucket = ? AND key = ? AND etag = ?')
    this.journal = new SinkJournal(db)
    this.load()
    this.pruner = setInterval(() => this.prune(), PRUNE_EVERY_MS)
    this.pruner.unref()
  }

  /** Opens (creates) DIR/checkpoints.sqlite and loads what a previous run left; ERR_STATE when it cannot. */
  static async open(dir: string, log: Logger, options: CheckpointOptions = {}): Promise<Checkpoints> {
    const path = join(dir, 'checkpoints.sqlite')
    let sqlite: typeof import('node:sqlite')
    try {
      sqlite = await import('node:sqlite')
    } catch (err) {
      throw new CollectorError('ERR_STATE', `state_dir needs node:sqlite (Node 22.13 or later; this is ${process.version})`, { cause: err })
    }
    let db: DatabaseSync | null = null
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      db = new sqlite.DatabaseSync(path, { timeout: 0 })
      // Exclusive: the first write takes the lock and keeps it, so a second collector on the same
      // state_dir fails at start instead of sharing (and pruning) this one's checkpoints.
      db.exec('PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL')
      db.exec(`CREATE TABLE IF NOT EXISTS checkpoints (bucket TEXT NOT NULL, key BLOB NOT NULL, etag TEXT NOT NULL,
        records INTEGER NOT NULL, complete INTEGER NOT NULL, updated INTEGER NOT NULL,
        PRIMARY KEY (bucket, key, etag)) WITHOUT ROWID`)
      db.exec('BEGIN IMMEDIATE; COMMIT')
      return new Checkpoints(db, path, log, options)
    } catch (err) {
      db?.close()
      const { message } = describeError(err)
      const locked = /locked|busy/i.test(message)
      throw new CollectorError('ERR_STATE', locked ? `${path} is in use by another collector (one collector per state_dir)` : `cannot open ${path}: ${message}`, { cause: err })
    }
  }

  get size(): number {
    return this.entries.size
  }

  get(id: string): Checkpoint | undefined {
    return this.entries.get(id)
  }

  /** The object's leading `records` are confirmed (`complete`: all of them); committed within FLUSH_MS. */
  advance(bucket: string, key: string, etag: string, records: number, complete = false): void {
    if (this.closed) return
    const id = checkpointId(bucket, key, etag)
    const old = this.entries.get(id)
    if (old && old.records >= records && (old.complete || !complete)) return
    const entry: Entry = {
      bucket,
      key,
      etag,
      records: Math.max(records, old?.records ?? 0),
      complete: complete || (old?.complete ?? false),
      updated: this.clock(),
    }
    if (old) this.entries.delete(id)
    this.entries.set(id, entry)
    this.pending.set(id, entry)
    while (this.entries.size > this.maxEntries) this.drop(this.entries.keys().next().value!)
    this.schedule()
  }

  /** Their messages were deleted: the entries go (committed with the next batch). */
  remove(ids: Iterable<string>): void {
    if (this.closed) return
    let any = false
    for (const id of ids) {
      if (this.entries.has(id)) {
        this.drop(id)
        any = true
      } else this.pending.delete(id)
    }
    if (any) this.schedule()
  }

  /** Commits what is pending now (the timer's work; close() calls it too). */
  flush(): void {
    this.timer?.cancel()
    this.timer = null
    if (this.pending.size === 0) return
    const started = performance.now()
    this.lastCommit = started
    const rows = this.pending.size
    try {
      this.db.exec('BEGIN')
      for (const [id, entry] of this.pending) {
        if (entry) this.upsert.run(entry.bucket, keyBytes(entry.key), entry.etag, entry.records, entry.complete ? 1 : 0, entry.updated)
        else {
          const [bucket, etag, key] = splitId(id)
          this.remover.run(bucket, keyBytes(key), etag)
        }
      }
      this.db.exec('COMMIT')
      this.pending.clear()
      this.stats.commits++
      this.stats.rows += rows
    } catch (err) {
      try {
        this.db.exec('ROLLBACK')
      } catch {
        // no transaction left to roll back
      }
      // Kept pending for the next commit: until then a crash writes those records again (duplicates).
      this.stats.failures++
      if (this.stats.failures === 1 || this.stats.failures % 1000 === 0) {
        const { code, message } = describeError(err)
        this.log.warn({ stage: 'state', code, reason: message, path: this.path, failures: this.stats.failures }, 'cannot write the checkpoints; retrying (a crash meanwhile writes their records again)')
      }
      this.schedule(1000)
    } finally {
      this.stats.ms += performance.now() - started
    }
  }

  /** Commits what is pending and closes the file. Safe to call twice. */
  close(): void {
    if (this.closed) return
    this.flush()
    this.closed = true
    clearInterval(this.pruner)
    this.timer?.cancel()
    this.db.close()
  }

  private drop(id: string): void {
    this.entries.delete(id)
    this.pending.set(id, null)
  }

  /** The next commit: right after this turn of the event loop, or once FLUSH_MS have passed since the last one (or in `ms`). */
  private schedule(ms?: number): void {
    if (this.timer || this.closed) return
    const wait = ms ?? this.lastCommit + this.flushMs - performance.now()
    const run = () => {
      this.timer = null
      this.flush()
    }
    if (wait <= 0) {
      const immediate = setImmediate(run)
      this.timer = { cancel: () => clearImmediate(immediate) }
    } else {
      const timeout = setTimeout(run, wait)
      this.timer = { cancel: () => clearTimeout(timeout) }
    }
  }

  /** Entries past MAX_AGE_MS go (oldest first, so the scan stops at the first young one). */
  private prune(): void {
    const oldest = this.clock() - this.maxAgeMs
    let any = false
    for (const [id, entry] of this.entries) {
      if (entry.updated >= oldest) break
      this.drop(id)
      any = true
    }
    if (any) this.schedule()
  }

  /** What a previous run left, within the bounds: the rest is deleted. */
  private load(): void {
    const oldest = this.clock() - this.maxAgeMs
    this.db.prepare('DELETE FROM checkpoints WHERE updated < ?').run(oldest)
    const rows = this.db.prepare('SELECT bucket, key, etag, records, complete, updated FROM checkpoints ORDER BY updated').all() as unknown as Array<Omit<Entry, 'complete' | 'key'> & { key: Uint8Array; complete: number }>
    for (const r of rows) {
      const entry: Entry = { bucket: r.bucket, key: utf8.decode(r.key), etag: r.etag, records: Number(r.records), complete: Number(r.complete) === 1, updated: Number(r.updated) }
      this.entries.set(checkpointId(entry.bucket, entry.key, entry.etag), entry)
    }
    while (this.entries.size > this.maxEntries) this.drop(this.entries.keys().next().value!)
    this.flush()
    if (rows.length > 0) this.log.info({ path: this.path, checkpoints: this.entries.size }, 'checkpoints loaded: objects in flight at the last stop resume after their confirmed records')
  }
}

const utf8 = new TextDecoder()

/**
 * Keys are kept as their UTF-8 bytes (a BLOB): Node 22's binding cuts a string at a NUL, and a key may
 * hold anything (a notification's key is the writer's word).
 */
function keyBytes(key: string): Uint8Array {
  return Buffer.from(key, 'utf8')
}

function splitId(id: string): [string, string, string] {
  const a = id.indexOf('\u0000')
  const b = id.indexOf('\u0000', a + 1)
  return [id.slice(0, a), id.slice(a + 1, b), id.slice(b + 1)]
}
