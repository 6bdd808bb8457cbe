import type { ArchiveCheckpoint } from '@chatapp/contracts'
import {
  type ArchivableMessage,
  type ArchiveStore,
  decodeSegment,
  encodeSegment,
  type Logger,
  parseSegmentKey,
} from '@chatapp/kit'
import { type Consumer, DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import type pg from 'pg'
import { boundedFetch } from '../bounded-fetch.js'
import type { LogEntry } from '../core/project-batch.js'
import { toLogEntry } from '../log-reader.js'
import type { ArchiveDb } from './archive-heads.js'
import type { ArchiveMetrics } from './archive-metrics.js'
import { type HotWindow, trimOnce } from './trimmer.js'

export interface SegmentLimits {
  /** A segment is cut at this many messages … */
  maxEvents: number
  /** … or this many bytes of payload … */
  maxBytes: number
  /** … or when its first message is this old (so the archive's lag stays bounded when traffic is low). */
  maxAgeMs: number
}

export interface ShardArchiverOptions {
  js: JetStreamClient
  jsm: JetStreamManager
  pool: pg.Pool
  db: ArchiveDb
  store: ArchiveStore
  viewsSchema: string
  stream: string
  subjects: string
  shard: number
  limits: SegmentLimits
  hot: HotWindow
  /** Time between passes when the stream has nothing new. */
  pollMs: number
  log: Logger
  metrics?: ArchiveMetrics
  now?: () => number
  /** Test hook: called between the steps of recording a segment (a test kills the process there). */
  onStep?: (step: 'stored' | 'verified' | 'heads' | 'recorded', key: string) => Promise<void> | void
}

const emptyCheckpoint = (shard: number): ArchiveCheckpoint => ({
  v: 1,
  shard,
  archivedTo: 0,
  archivedFrom: 0,
  segments: 0,
  events: 0,
  bytes: 0,
  lastAt: 0,
  updatedAt: 0,
})

/**
 * Copies one shard stream into the archive, in order, and trims what the hot window lets go.
 * Each segment is stored, read back and checked, its subjects' heads recorded, and only then the
 * checkpoint moved (ADR 0200): a crash at any step leaves at most an unrecorded segment, which
 * the next start deletes before writing anything, so the archive has no hole and no duplicate.
 * One writer per shard (the caller's lease); the checkpoint is read again before it is moved, so
 * a writer that lost its lease without knowing stops instead of forking the archive.
 */
export class ShardArchiver {
  private cp: ArchiveCheckpoint
  private buffer: ArchivableMessage[] = []
  private bufferBytes = 0
  private bufferedTo = 0
  private reader: Consumer | undefined
  /** The sequence `reader` delivers next. */
  private readerNext = 0
  /** The stream lost unarchived messages: the next segment starts at its first message, leaving the gap visible. */
  private lostBefore = false
  private stopped = false
  private wake: (() => void) | undefined
  private loop: Promise<void> | undefined
  private readonly now: () => number

  constructor(private readonly o: ShardArchiverOptions) {
    this.cp = emptyCheckpoint(o.shard)
    this.now = o.now ?? Date.now
  }

  async start(): Promise<void> {
    this.cp = (await this.o.store.checkpoint(this.o.shard)) ?? emptyCheckpoint(this.o.shard)
    await this.removeUnrecorded()
    this.bufferedTo = this.cp.archivedTo
    this.loop = this.run()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.wake?.()
    await this.loop
    await this.closeReader()
  }

  checkpoint(): ArchiveCheckpoint {
    return this.cp
  }

  /** Segments past the checkpoint were stored by a writer that died before recording them. */
  private async removeUnrecorded(): Promise<void> {
    for await (const ref of this.o.store.segments(this.o.shard, this.cp.archivedTo)) {
      this.o.log.warn({ shard: this.o.shard, key: ref.key }, 'removing an unrecorded archive segment')
      await this.o.store.remove(ref.key)
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.pass()
      } catch (err) {
        if (this.stopped) return
        this.fail(err, 'archive pass failed; retrying')
        // What was buffered and not recorded is read again from the stream.
        this.buffer = []
        this.bufferBytes = 0
        this.bufferedTo = this.cp.archivedTo
      }
      // A failed trim costs nothing but the stream's size: the archive's state is untouched.
      await this.trim().catch((err: unknown) => this.stopped || this.fail(err, 'trimming failed; retrying'))
      // A pass reads all the stream held when it began, so the archive is at most a pass and a
      // poll behind. Waiting after a pass that read something too (it used to go on at once) keeps
      // a stream with steady traffic from being read, and its trim point worked out, per message:
      // at 1,000 msg/s that was a pass of JetStream requests and a query for every few messages.
      if (!this.stopped)
        await new Promise<void>((r) => {
          const t = setTimeout(r, this.o.pollMs)
          this.wake = () => {
            clearTimeout(t)
            r()
          }
        })
    }
  }

  private fail(err: unknown, msg: string): void {
    this.o.metrics?.failures.inc({ shard: this.o.shard })
    this.o.log.error({ err, shard: this.o.shard }, msg)
  }

  private async trim(): Promise<void> {
    const purged = await trimOnce(
      {
        jsm: this.o.jsm,
        pool: this.o.pool,
        db: this.o.db,
        viewsSchema: this.o.viewsSchema,
        stream: this.o.stream,
        subjects: this.o.subjects,
        shard: this.o.shard,
        hot: this.o.hot,
        now: this.now,
      },
      this.cp.archivedTo,
    )
    if (purged > 0) {
      this.o.metrics?.trimmed.inc({ shard: this.o.shard }, purged)
      this.o.log.info({ shard: this.o.shard, purged }, 'trimmed the hot log')
    }
  }

  /**
   * What the stream holds after what is buffered, up to `last` at least, through one ordered
   * consumer the archiver keeps between passes (ADR 0081: a long read is a per-process consumer,
   * not one per pass); it is re-created when the archiver restarts from its checkpoint.
   *
   * Every fetch is read to its end, never left early: a fetch asks the server for a batch, and
   * what the server sends after the reader stops listening goes to a pull nobody reads while the
   * client's cursor may already count it. A pass that stopped at the end it saw when it began
   * lost the messages stored meanwhile: the reader waited for them forever when traffic stopped,
   * or skipped them when it went on (archiver-live-tail.test.ts). So a fetch asks for no more
   * than the pass wants, and a reader left mid-fetch (a failed cut, a stop) is dropped, not reused.
   */
  private async *newMessages(last: number): AsyncGenerator<LogEntry> {
    let fresh = false
    if (!this.reader || this.readerNext !== this.bufferedTo + 1) {
      await this.closeReader()
      this.reader = await this.o.js.consumers.get(this.o.stream, {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: this.bufferedTo + 1,
      })
      this.readerNext = this.bufferedTo + 1
      fresh = true
    }
    const reader = this.reader
    let inFetch = false
    try {
      while (this.readerNext <= last) {
        let got = 0
        inFetch = true
        // Bounded: a pull whose node died ends in a TimeoutError, the pass fails and the next one
        // re-creates the reader at what is buffered (it waited forever before).
        for await (const m of boundedFetch(reader, Math.min(1000, last - this.readerNext + 1))) {
          got++
          // The stream is only ever cut at its front, so past a reader's first message its
          // sequences follow each other; a jump is a message the reader lost, not a deleted one.
          if (!fresh && m.seq !== this.readerNext)
            throw new Error(
              `the archive's reader of shard ${this.o.shard} skipped ${this.readerNext}..${m.seq - 1}`,
            )
          fresh = false
          this.readerNext = m.seq + 1
          yield toLogEntry(this.o.stream, m)
        }
        inFetch = false
        if (got === 0) return
      }
    } finally {
      if (inFetch && this.reader === reader) await this.closeReader()
    }
  }

  private async closeReader(): Promise<void> {
    const r = this.reader
    this.reader = undefined
    await r?.delete().catch(() => {})
  }

  /** Reads what is new, cuts the segments that are full or old enough. */
  private async pass(): Promise<void> {
    const si = await this.o.jsm.streams.info(this.o.stream)
    this.o.metrics?.observe(this.o.shard, si.state, this.cp, this.buffer[0]?.at, this.now())
    const last = si.state.last_seq
    if (si.state.first_seq > this.bufferedTo + 1 && si.state.messages > 0) {
      // Messages that were never archived are gone (the stream was purged by someone else, or
      // existed before archiving began): say so loudly; verify reports the gap for good.
      this.o.log.error(
        { shard: this.o.shard, archivedTo: this.bufferedTo, firstSeq: si.state.first_seq },
        'the stream lost messages that were never archived',
      )
      this.o.metrics?.lost.inc({ shard: this.o.shard }, si.state.first_seq - this.bufferedTo - 1)
      this.lostBefore = true
    }
    if (last > this.bufferedTo) {
      for await (const e of this.newMessages(last)) {
        if (this.stopped) return
        this.buffer.push({
          seq: e.seq,
          subject: e.subject,
          at: e.at ?? 0,
          headers: e.headers ?? {},
          data: e.data,
        })
        this.bufferBytes += e.data.length
        this.bufferedTo = e.seq
        if (this.buffer.length >= this.o.limits.maxEvents || this.bufferBytes >= this.o.limits.maxBytes)
          await this.cut()
      }
    }
    const oldest = this.buffer[0]
    if (oldest && this.now() - oldest.at >= this.o.limits.maxAgeMs) await this.cut()
  }

  /** Stores, checks and records the buffered messages as one segment. */
  private async cut(): Promise<void> {
    const msgs = this.buffer
    if (msgs.length === 0 || this.stopped) return
    const shard = this.o.shard
    // Coverage starts right after the checkpoint, unless the stream no longer held those
    // sequences (then the archive resumes where the stream did, and verify shows the gap).
    const fromSeq = this.lostBefore ? msgs[0]!.seq : this.cp.archivedTo + 1
    const started = performance.now()
    const seg = encodeSegment(this.o.stream, shard, fromSeq, msgs)
    await this.o.store.put(seg)
    await this.o.onStep?.('stored', seg.key)
    const ref = parseSegmentKey(seg.key, seg.body.length)!
    const back = decodeSegment(ref, await this.o.store.body(seg.key))
    if (!back.ok || back.messages.length !== msgs.length)
      throw new Error(`archive segment ${seg.key} did not read back: ${back.ok ? 'count' : back.detail}`)
    await this.o.onStep?.('verified', seg.key)
    await this.o.db.record(back.messages)
    await this.o.onStep?.('heads', seg.key)
    const current = await this.o.store.checkpoint(shard)
    if ((current?.archivedTo ?? 0) !== this.cp.archivedTo) {
      this.stopped = true
      throw new Error(`shard ${shard}'s archive checkpoint moved under this archiver: stopping`)
    }
    const next: ArchiveCheckpoint = {
      v: 1,
      shard,
      archivedTo: seg.header.toSeq,
      archivedFrom: this.cp.archivedFrom || fromSeq,
      segments: this.cp.segments + 1,
      events: this.cp.events + msgs.length,
      bytes: this.cp.bytes + seg.body.length,
      lastAt: seg.header.lastAt,
      updatedAt: this.now(),
    }
    await this.o.store.writeCheckpoint(next)
    this.cp = next
    this.lostBefore = false
    await this.o.onStep?.('recorded', seg.key)
    this.o.metrics?.segment(shard, msgs.length, seg.body.length, (performance.now() - started) / 1000)
    this.buffer = []
    this.bufferBytes = 0
  }
}
