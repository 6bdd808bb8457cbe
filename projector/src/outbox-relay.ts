import { HEADERS } from '@chatapp/contracts'
import { createJsRequests, encodeHeaders, type Logger, type NatsConnection } from '@chatapp/kit'
import type pg from 'pg'
import type { OutboxRow } from './core/outbox-rows.js'
import type { ProjectorMetrics } from './metrics.js'
import { countOutbox, deleteOutbox, readOutbox } from './outbox.js'

/**
 * Where effects are published. Resolves once the publication is durable (JetStream's PubAck),
 * rejects otherwise. Must be idempotent by `row.id` (JetStream: the Msg-Id, inside the stream's
 * duplicate window).
 */
export interface EffectSink {
  publish(row: OutboxRow): Promise<void>
}

const utf8 = new TextEncoder()

/**
 * Publishes with JetStream's acknowledgement through kit's request path (no Error built per
 * request, unlike `js.publish`: a group's creation publishes one notice per member).
 */
export const jetStreamSink = (nc: NatsConnection, timeoutMs = 5000): EffectSink => {
  const req = createJsRequests(nc)
  return {
    publish: async (row) => {
      const h = encodeHeaders([[HEADERS.msgId, row.id]])
      await req.publish(row.subject, utf8.encode(row.payload), h, timeoutMs)
    },
  }
}

export interface OutboxRelayOptions {
  pool: pg.Pool
  schema: string
  shard: number
  sink: EffectSink
  log: Logger
  metrics: ProjectorMetrics
  /** How often the shard's outbox is read back and drained (default 5 s). */
  drainMs?: number
  /** Deletes published rows; by default one DELETE per round (the projector shares it: ADR 0226). */
  deleteRows?: (ids: readonly string[]) => Promise<void>
}

/** Rows read per drain round, and publications in flight at once. */
const DRAIN_ROWS = 500
const PARALLEL = 64

/**
 * Publishes one shard's effects (ADR 0150), run by the shard's lease holder only. Two ways in:
 * - `committed(rows)`: the effects of a batch, right after its COMMIT, from memory (no read back);
 * - a drain: at start and every `drainMs`, whatever the shard's outbox still holds (a crash
 *   between COMMIT and publication, a publication that failed, rows a rebuild carried over).
 * Both run on one worker, one after the other, so a row is not published by both at once; a
 * drain first forgets the queue (everything queued is in the table). A row is deleted only after
 * its PubAck; a crash in between publishes it again later, with the same Msg-Id. A failed
 * publication stops the round; its rows stay in the table for the next drain, so a NATS outage
 * means "later", never "never". Publications of a round run in parallel: effects carry no order
 * (their readers fold them by `convSeq`, order-insensitively).
 */
export class OutboxRelay {
  private queue: OutboxRow[] = []
  private drainDue = true
  private worker: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(private readonly o: OutboxRelayOptions) {}

  /** Drains what the outbox holds now, then every `drainMs`. */
  start(): void {
    this.timer = setInterval(() => {
      this.drainDue = true
      this.kick()
    }, this.o.drainMs ?? 5000)
    this.timer.unref()
    this.kick()
  }

  /** After COMMIT: the rows the batch wrote. */
  committed(rows: readonly OutboxRow[]): void {
    if (rows.length === 0 || this.stopped) return
    this.queue.push(...rows)
    this.kick()
  }

  /** Resolves when no work is in flight and nothing is queued (tests; stop). */
  async idle(): Promise<void> {
    while (this.worker) await this.worker
  }

  private kick(): void {
    if (this.worker || this.stopped) return
    this.worker = this.work()
      .catch((err: unknown) => this.o.log.error({ err, shard: this.o.shard }, 'effect relay failed'))
      .finally(() => {
        this.worker = undefined
        if (!this.stopped && this.queue.length > 0) this.kick()
      })
  }

  private async work(): Promise<void> {
    while (!this.stopped) {
      if (this.drainDue) {
        this.drainDue = false
        this.queue = []
        await this.drain()
        continue
      }
      if (this.queue.length === 0) return
      const rows = this.queue.splice(0, DRAIN_ROWS)
      if (!(await this.publish(rows, 'commit'))) {
        // Left in the table: the next drain takes them, and what was queued behind them.
        this.queue = []
        return
      }
    }
  }

  private async drain(): Promise<void> {
    const { o } = this
    for (;;) {
      const rows = await readOutbox(o.pool, o.schema, o.shard, DRAIN_ROWS)
      if (rows.length === 0 || this.stopped) break
      if (!(await this.publish(rows, 'drain'))) break
    }
    o.metrics.outboxRows.set({ shard: o.shard }, await countOutbox(o.pool, o.schema, o.shard))
  }

  /** Publishes rows (PARALLEL at a time) and deletes those acknowledged; false on a failure. */
  private async publish(rows: readonly OutboxRow[], path: 'commit' | 'drain'): Promise<boolean> {
    const { o } = this
    const done: string[] = []
    let failed: unknown
    for (let i = 0; i < rows.length && failed === undefined && !this.stopped; i += PARALLEL) {
      const results = await Promise.allSettled(rows.slice(i, i + PARALLEL).map((r) => o.sink.publish(r)))
      results.forEach((x, k) => {
        if (x.status === 'fulfilled') done.push(rows[i + k]!.id)
        else failed ??= x.reason
      })
    }
    await (o.deleteRows ? o.deleteRows(done) : deleteOutbox(o.pool, o.schema, done))
    o.metrics.effectsPublished.inc({ path }, done.length)
    if (failed === undefined) return true
    o.metrics.effectFailures.inc()
    o.log.warn(
      { err: failed, shard: o.shard, waiting: rows.length - done.length },
      'effects not published; the outbox keeps them for the next drain',
    )
    return false
  }

  /** Stops after the publication in flight; what is not published stays in the outbox. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.idle()
  }
}
