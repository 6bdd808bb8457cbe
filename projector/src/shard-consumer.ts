import { encodeJson, type Names } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream'
import type pg from 'pg'
import { type Applied, applyBatch } from './applier.js'
import { type Placement, positionConsumer } from './consumer-position.js'
import { admit, type DeliveryCursor } from './core/continuity.js'
import { type OutboxRoute, outboxRoute } from './core/outbox-rows.js'
import type { LogEntry } from './core/project-batch.js'
import { failureKind } from './db-refusal.js'
import type { ProjectorMetrics } from './metrics.js'
import { readOffset } from './offsets.js'
import { type EffectSink, OutboxRelay } from './outbox-relay.js'
import { StateCache } from './state-cache.js'
import type { StatementCombiner } from './statement-combiner.js'
import { pendingAfter } from './stream-pending.js'

export interface ShardConsumerOptions {
  js: JetStreamClient
  jsm: JetStreamManager
  pool: pg.Pool
  names: Names
  schema: string
  shard: number
  batch: number
  log: Logger
  metrics: ProjectorMetrics
  /** Where the effects of admitted events are published (outbox-relay.ts). */
  sink: EffectSink
  /** How often the shard's outbox is drained (default 5 s). */
  outboxDrainMs?: number
  /** Write a push job per message (default true; `PROJECTOR_PUSH_JOBS`, ADR 0190). */
  pushJobs?: boolean
  /** How long JetStream waits for an ack before redelivering (tests shorten it). */
  ackWaitMs?: number
  /**
   * How long a batch that is not full waits for more events before it is applied. Each batch is a
   * transaction with a fixed cost (lock, offset, state, commit); at moderate rates spread over many
   * shards, applying at once means one transaction per event. Bounded, so lag grows by at most this.
   */
  lingerMs?: number
  /** Events wait after the offset and none was delivered for this long: re-create the consumer. */
  stallMs?: number
  /** How often the lag gauge is computed from the stream and a stall looked for. */
  watchMs?: number
  /** Shares the fast path's statements and outbox deletions with the process's other shards (ADR 0226). */
  combiner?: StatementCombiner
}

/** Why a consumer is re-created at the stored offset + 1 (the label of projector_repositions_total). */
type Reposition = 'start' | 'gap' | 'hole' | 'failure' | 'stall' | 'consumer' | 'placement'

const toEntry = (m: JsMsg): LogEntry => ({
  stream: m.info.stream,
  seq: m.seq,
  subject: m.subject,
  data: m.data,
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * One shard's projection loop (ADR 0100). The stored offset in the views is the truth; the
 * durable consumer is a cache of it, re-created at offset + 1 when the lease is taken, after a
 * failed apply, when a delivery does not continue the sequence (messages went to a process that
 * died or a connection that moved), when the applier finds a hole, and when events wait but
 * nothing arrives. Messages arrive in stream order into a queue; whatever is queued (up to
 * `batch`) is applied in one transaction, then the last applied message is acknowledged, never a
 * later one. One event the database refuses is dead-lettered (bisect.ts); any other failure backs
 * off (up to 5 s) and repositions. Ordering: one process consumes a shard at a time (the lease).
 * The effects of admitted events are written to the outbox in each batch's statement and
 * published after COMMIT by the shard's OutboxRelay (ADR 0150).
 */
export class ShardConsumer {
  private queue: JsMsg[] = []
  /** When the oldest queued message arrived (performance.now()). */
  private firstAt = 0
  private wake: (() => void) | undefined
  private messages: ConsumerMessages | undefined
  private stopped = false
  private loop: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  /** Deliveries of an earlier consumer instance are ignored: their generation is over. */
  private generation = 0
  private cursor: DeliveryCursor = { startSeq: 1 }
  /** Where the current consumer instance sits, against the stream's leader at its creation. */
  private placement: Placement = { node: undefined, leader: undefined }
  /** Set when the consumer must be re-created before more is read; the queue is applied first. */
  private reposition: Reposition | undefined
  /** The stored offset as this process last read or committed it. */
  private offset = 0
  private applying = false
  private watching = false
  /** Last time a delivery arrived, the offset moved or the consumer was re-created. */
  private lastProgress = performance.now()
  private readonly cache = new StateCache()
  private readonly effects: OutboxRoute
  private readonly relay: OutboxRelay

  constructor(private readonly o: ShardConsumerOptions) {
    this.effects = outboxRoute(o.names, o.shard, { pushJobs: o.pushJobs ?? true })
    this.relay = new OutboxRelay({
      pool: o.pool,
      schema: o.schema,
      shard: o.shard,
      sink: o.sink,
      log: o.log,
      metrics: o.metrics,
      ...(o.outboxDrainMs !== undefined ? { drainMs: o.outboxDrainMs } : {}),
      ...(o.combiner ? { deleteRows: (ids: readonly string[]) => o.combiner!.deleteOutbox(ids) } : {}),
    })
  }

  /**
   * Drains the shard's outbox (what a previous holder committed and never published), positions
   * the consumer at the stored offset + 1 and starts the loop; throws if it cannot.
   */
  async start(): Promise<void> {
    await this.repositionNow('start')
    this.relay.start()
    this.loop = this.run()
    this.timer = setInterval(() => void this.watch(), this.o.watchMs ?? 2500)
    this.timer.unref()
  }

  private async run(): Promise<void> {
    const { o } = this
    let backoff = 100
    while (!this.stopped) {
      if (this.reposition !== undefined && this.queue.length === 0) {
        try {
          await this.repositionNow(this.reposition)
          backoff = 100
        } catch (err) {
          o.log.error({ err, shard: o.shard }, 'could not re-create the shard consumer; retrying')
          await sleep(backoff)
          backoff = Math.min(backoff * 2, 5000)
        }
        continue
      }
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve
        })
        this.wake = undefined
        continue
      }
      await this.linger()
      const take = this.queue.splice(0, o.batch)
      if (this.queue.length > 0) this.firstAt = performance.now()
      const started = performance.now()
      this.applying = true
      try {
        const r = await applyBatch(o.pool, o.schema, o.shard, take.map(toEntry), {
          continuity: { kind: 'server', ...(this.cursor.vouch ? { vouch: this.cursor.vouch } : {}) },
          cache: this.cache,
          effects: this.effects,
          ...(o.combiner ? { combiner: o.combiner } : {}),
        })
        this.committed(r, take, performance.now() - started)
        backoff = 100
      } catch (err) {
        const kind = failureKind(err)
        o.metrics.failuresTotal.inc({ shard: o.shard, kind })
        o.log.error(
          { err, kind, shard: o.shard, from: take[0]!.seq, to: take[take.length - 1]!.seq },
          'batch failed; retrying from the stored offset',
        )
        this.queue = []
        this.reposition = 'failure'
        await sleep(backoff)
        backoff = Math.min(backoff * 2, 5000)
      } finally {
        this.applying = false
      }
    }
  }

  /**
   * A batch that is not full waits for more (not while a reposition is due) until the first
   * multiple of `lingerMs` on the process's clock at least half a linger after its first event
   * arrived: the same instant for every shard of the process, so their batches fall due together
   * and go as one statement (statement-combiner.ts, ADR 0226), and a wait of half to one and a
   * half lingers, a linger on average as before (a shortest wait of nothing made a busy shard's
   * batches smaller and more: +20 % projector CPU for a group of 1,024).
   */
  private async linger(): Promise<void> {
    const { o } = this
    const period = o.lingerMs ?? 0
    const due = Math.ceil((this.firstAt + period / 2) / period) * period
    const left = period > 0 ? due - performance.now() : 0
    if (this.queue.length >= o.batch || left <= 0 || this.stopped || this.reposition !== undefined) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left)
      this.wake = () => {
        if (this.queue.length < o.batch && this.reposition === undefined && !this.stopped) return
        clearTimeout(timer)
        resolve()
      }
    })
    this.wake = undefined
  }

  /** After COMMIT: acknowledge up to what was committed, publish dead letters, record metrics. */
  private committed(r: Applied, take: JsMsg[], ms: number): void {
    const { o } = this
    if (r.lastSeq > this.offset) {
      this.offset = r.lastSeq
      this.lastProgress = performance.now()
    }
    // The effects of what was just committed, published now (and by a later drain if not).
    this.relay.committed(r.effects)
    // AckAll acknowledges everything up to the message acked: only the last one committed.
    const last = take.find((m) => m.seq === r.lastSeq)
    last?.ack()
    if (r.hole) {
      o.log.warn({ shard: o.shard, ...r.hole }, 'a delivery did not follow the stored offset; repositioning')
      this.queue = []
      this.reposition ??= 'hole'
    }
    // Dead letters are in the table already (same transaction); the DLQ stream copy is for
    // operators and alerting, de-duplicated by its id if this batch is ever applied again.
    for (const dl of r.deadLetters) {
      o.log.warn({ stream: dl.stream, seq: dl.seq, reason: dl.reason }, 'event dead-lettered')
      o.js
        .publish(o.names.deadLetterSubject('projector'), encodeJson(dl), {
          msgID: `projector:${dl.stream}:${dl.seq}`,
        })
        .catch((err: unknown) =>
          o.log.error({ err, stream: dl.stream, seq: dl.seq }, 'dead letter not copied to the DLQ stream'),
        )
    }
    o.metrics.applySeconds.observe(ms / 1000)
    o.metrics.batchSize.observe(take.length)
    o.metrics.skippedTotal.inc(r.skipped)
    if (r.deadLetters.length > 0) o.metrics.deadLettersTotal.inc(r.deadLetters.length)
    for (const [type, count] of Object.entries(r.byType)) o.metrics.eventsTotal.inc({ type }, count)
    // The stream messages after the one committed, as the server counted at its delivery.
    if (last && !r.hole) o.metrics.lagEvents.set({ shard: o.shard }, last.info.pending + this.queue.length)
    if (r.lastAt > 0) o.metrics.lagSeconds.set({ shard: o.shard }, Math.max(0, Date.now() - r.lastAt) / 1000)
  }

  /**
   * Re-creates the durable consumer at the stored offset + 1 and reads from the new instance only.
   * The old instance's reader is closed first, so none of its pull requests reach the new one.
   */
  private async repositionNow(reason: Reposition): Promise<void> {
    const { o } = this
    const generation = ++this.generation
    this.queue = []
    this.reposition = reason
    await this.messages?.close().catch(() => {})
    this.messages = undefined
    const offset = await readOffset(o.pool, o.schema, o.shard)
    this.offset = offset
    const startSeq = offset + 1
    this.placement = await positionConsumer(o.jsm, o.names, o.shard, startSeq, {
      batch: o.batch,
      ackWaitMs: o.ackWaitMs ?? 30_000,
    })
    const consumer = await o.js.consumers.get(o.names.convStream(o.shard), o.names.projectorConsumer(o.shard))
    this.cursor = { startSeq }
    this.reposition = undefined
    this.lastProgress = performance.now()
    try {
      this.messages = await consumer.consume({
        max_messages: o.batch * 2,
        callback: (m) => this.delivered(generation, m),
      })
    } catch (err) {
      this.reposition = reason
      throw err
    }
    // stop() may have run meanwhile: it must not leave a reader behind.
    if (this.stopped) await this.messages.close().catch(() => {})
    else void this.watchStatus(generation, this.messages)
    o.metrics.repositionsTotal.inc({ shard: o.shard, reason })
    if (reason !== 'start')
      o.log.warn({ shard: o.shard, reason, startSeq, ...this.placement }, 'shard consumer repositioned')
  }

  private delivered(generation: number, m: JsMsg): void {
    if (generation !== this.generation || this.reposition !== undefined || this.stopped) return
    const info = m.info
    if (
      !admit(this.cursor, { seq: m.seq, deliverySeq: info.deliverySequence, redelivered: info.redelivered })
    ) {
      this.o.log.warn(
        { shard: this.o.shard, seq: m.seq, expected: this.cursor.next ?? this.cursor.startSeq },
        'delivery out of sequence',
      )
      this.reposition = 'gap'
      this.wake?.()
      return
    }
    this.lastProgress = performance.now()
    if (this.queue.length === 0) this.firstAt = this.lastProgress
    this.queue.push(m)
    this.wake?.()
  }

  /** The consumer was deleted or lost under us (an operator, a server restart): re-create it. */
  private async watchStatus(generation: number, messages: ConsumerMessages): Promise<void> {
    for await (const s of messages.status()) {
      if (generation !== this.generation) return
      if (
        (s.type === 'consumer_deleted' || s.type === 'consumer_not_found') &&
        this.reposition === undefined
      ) {
        this.reposition = 'consumer'
        this.wake?.()
      }
    }
  }

  /**
   * Lag from the stream (never from the consumer), a stall watch (events wait, none arrive), and a
   * placement watch: the consumer delivers from its own node's copy, which is the log only on the
   * stream's leader (consumer-position.ts) — when leadership moved away from it, re-create it.
   */
  private async watch(): Promise<void> {
    const { o } = this
    if (this.watching || this.stopped) return
    this.watching = true
    try {
      const { pending, leader } = await pendingAfter(o.jsm, o.names.convStream(o.shard), this.offset)
      o.metrics.lagEvents.set({ shard: o.shard }, pending)
      const { node } = this.placement
      if (leader && node && leader !== node && this.reposition === undefined) {
        this.reposition = 'placement'
        this.wake?.()
        return
      }
      const idle = performance.now() - this.lastProgress
      if (
        pending > 0 &&
        idle > (o.stallMs ?? 10_000) &&
        this.queue.length === 0 &&
        !this.applying &&
        this.reposition === undefined
      ) {
        this.reposition = 'stall'
        this.wake?.()
      }
    } catch {
      // NATS unavailable: the next tick tries again, and the loop has its own failure path.
    } finally {
      this.watching = false
    }
  }

  /** Stops taking messages and waits for the batch in flight; what was not acked is read again later. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.messages?.close().catch(() => {})
    this.wake?.()
    await this.loop
    await this.messages?.close().catch(() => {})
    this.queue = []
    await this.relay.stop()
  }
}
