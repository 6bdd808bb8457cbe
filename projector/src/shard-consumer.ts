import { encodeJson, type Names } from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream'
import { nanos } from '@nats-io/nats-core'
import type pg from 'pg'
import { applyBatch } from './applier.js'
import type { LogEntry } from './core/project-batch.js'
import type { ProjectorMetrics } from './metrics.js'

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
  /** How long JetStream waits for an ack before redelivering (tests shorten it). */
  ackWaitMs?: number
  /**
   * How long a batch that is not full waits for more events before it is applied. Each batch is a
   * transaction with a fixed cost (lock, offset, state, commit); at moderate rates spread over many
   * shards, applying at once means one transaction per event. Bounded, so lag grows by at most this.
   */
  lingerMs?: number
}

const toEntry = (m: JsMsg): LogEntry => ({
  stream: m.info.stream,
  seq: m.seq,
  subject: m.subject,
  data: m.data,
})

/** Creates the shard's durable pull consumer, or leaves it as it is: safe on every start. */
export const ensureProjectorConsumer = async (
  jsm: JetStreamManager,
  n: Names,
  shard: number,
  batch: number,
  ackWaitMs = 30_000,
): Promise<void> => {
  await jsm.consumers.add(n.convStream(shard), {
    durable_name: n.projectorConsumer(shard),
    description: `Projector of shard ${shard}: folds the log into the views.`,
    // One ack per batch (the last message) acknowledges the whole batch.
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    // Bounded in-flight work: a slow database cannot make the process buffer the whole log.
    max_ack_pending: batch * 4,
  })
}

/**
 * One shard's projection loop. Messages arrive in stream order into a queue; whatever is queued
 * (up to `batch`) is applied in one transaction, then acknowledged; while it applies, the next
 * batch accumulates, so batches grow with the load and latency stays one apply long.
 *
 * On a failed apply (PostgreSQL down), every held message is nak'd and the loop backs off:
 * JetStream redelivers nak'd messages before new ones, in order, and the offset check skips
 * whatever was committed. Ordering: one process should consume a shard at a time (ADR 0030).
 */
export class ShardConsumer {
  private queue: JsMsg[] = []
  /** When the oldest queued message arrived (performance.now()). */
  private firstAt = 0
  private wake: (() => void) | undefined
  private messages: ConsumerMessages | undefined
  private stopped = false
  private loop: Promise<void> | undefined
  private infoTimer: NodeJS.Timeout | undefined

  constructor(private readonly o: ShardConsumerOptions) {}

  async start(): Promise<void> {
    const { o } = this
    await ensureProjectorConsumer(o.jsm, o.names, o.shard, o.batch, o.ackWaitMs)
    const consumer = await o.js.consumers.get(o.names.convStream(o.shard), o.names.projectorConsumer(o.shard))
    this.messages = await consumer.consume({
      max_messages: o.batch * 2,
      callback: (m) => {
        if (this.queue.length === 0) this.firstAt = performance.now()
        this.queue.push(m)
        this.wake?.()
      },
    })
    this.infoTimer = setInterval(() => {
      consumer.info(true).then(
        (i) => o.metrics.lagEvents.set({ shard: o.shard }, i.num_pending + i.num_ack_pending),
        () => {},
      )
    }, 5000)
    this.infoTimer.unref()
    this.loop = this.run()
  }

  private async run(): Promise<void> {
    const { o } = this
    let backoff = 100
    while (!this.stopped) {
      if (this.queue.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve
        })
        this.wake = undefined
        continue
      }
      const lingerLeft = (o.lingerMs ?? 0) - (performance.now() - this.firstAt)
      if (this.queue.length < o.batch && lingerLeft > 0 && !this.stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, lingerLeft)
          this.wake = () => {
            if (this.queue.length < o.batch) return
            clearTimeout(timer)
            resolve()
          }
        })
        this.wake = undefined
      }
      const take = this.queue.splice(0, o.batch)
      if (this.queue.length > 0) this.firstAt = performance.now()
      const last = take[take.length - 1]!
      const started = performance.now()
      try {
        const r = await applyBatch(o.pool, o.schema, o.shard, take.map(toEntry))
        // Dead letters are in the table already (same transaction); the DLQ stream copy is for
        // operators and alerting, de-duplicated by its id if this batch is ever applied again.
        for (const dl of r.deadLetters)
          await o.js.publish(o.names.deadLetterSubject('projector'), encodeJson(dl), {
            msgID: `projector:${dl.stream}:${dl.seq}`,
          })
        last.ack()
        const secs = (performance.now() - started) / 1000
        o.metrics.applySeconds.observe(secs)
        o.metrics.batchSize.observe(take.length)
        o.metrics.skippedTotal.inc(r.skipped)
        if (r.deadLetters.length > 0) {
          o.metrics.deadLettersTotal.inc(r.deadLetters.length)
          for (const dl of r.deadLetters)
            o.log.warn({ stream: dl.stream, seq: dl.seq, reason: dl.reason }, 'event dead-lettered')
        }
        for (const [type, count] of Object.entries(r.byType)) o.metrics.eventsTotal.inc({ type }, count)
        o.metrics.lagEvents.set({ shard: o.shard }, last.info.pending + this.queue.length)
        if (r.lastAt > 0)
          o.metrics.lagSeconds.set({ shard: o.shard }, Math.max(0, Date.now() - r.lastAt) / 1000)
        backoff = 100
      } catch (err) {
        o.metrics.failuresTotal.inc({ shard: o.shard })
        o.log.error({ err, shard: o.shard, from: take[0]!.seq, to: last.seq }, 'batch failed; retrying')
        for (const m of [...take, ...this.queue.splice(0)]) m.nak()
        await new Promise((r) => setTimeout(r, backoff))
        backoff = Math.min(backoff * 2, 5000)
      }
    }
  }

  /** Stops taking messages and waits for the batch in flight; unacked messages are redelivered later. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.infoTimer)
    await this.messages?.close()
    this.wake?.()
    await this.loop
    this.queue = []
  }
}
