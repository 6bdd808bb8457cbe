import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core'

/** One message of a pulled batch: what the shard loop reads of it. */
export interface Pulled {
  seq: number
  subject: string
  data: Uint8Array
  stream: string
  /** The consumer's delivery sequence (continuity.ts checks it follows the previous one). */
  deliverySeq: number
  redelivered: boolean
  /** Messages after this one the consumer had not delivered yet, as the server counted. */
  pending: number
  /** AckAll: acknowledges this message and every one before it. */
  ack(): void
}

/** Why a pull ended without the batch it asked for, as far as the reader cares. */
export type PullEnd = 'drained' | 'gone'

export interface BatchPullOptions {
  nc: NatsConnection
  stream: string
  consumer: string
  /** Most messages one batch takes. */
  batch: number
  /** How long the first message of a batch waits for more before they are pulled together. */
  lingerMs: number
  /** How long the pull that waits for a first message lives before it is renewed (default 30 s). */
  waitMs?: number
  /**
   * How long a request may go unanswered beyond its own bound before it is taken as lost; default
   * 2 s. A wait that is lost means the consumer is not there to answer (deleted with its server,
   * or never re-created after a restart): reported `gone`.
   */
  lostMs?: number
  /** Every message, in delivery order. */
  message: (m: Pulled) => void
  /** A batch is complete: everything pulled for it has arrived (apply it, then call `next`). */
  ready: () => void
  /** The consumer is gone (deleted, or its stream): the owner re-creates it. */
  gone: () => void
}

/** `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`, or the form with domain and hash. */
const ackInfo = (reply: string) => {
  const t = reply.split('.')
  const o = t.length === 9 ? 0 : 2
  if (t.length < 9 || t[0] !== '$JS' || t[1] !== 'ACK') return undefined
  return {
    stream: t[2 + o]!,
    delivered: Number(t[4 + o]),
    seq: Number(t[5 + o]),
    deliverySeq: Number(t[6 + o]),
    pending: Number(t[8 + o]),
  }
}

const EMPTY = new Uint8Array(0)
/** The bound of the wait issued again after a reconnect: its 408 proves the consumer is there. */
const RENEWED_WAIT_MS = 1000

/**
 * Pulls a shard's consumer in batches, so that a batch costs one wake-up, not one per message
 * (ADR 0223). A pull consumer with a request outstanding sends each message the moment it is
 * stored: at 1,000 msg/s over eight shards that woke the projector (and made nats-server write)
 * once per message although the shard applies them together after its linger. Here:
 * 1. idle, one pull for ONE message waits (renewed every `waitMs`);
 * 2. when it arrives, nothing is outstanding for `lingerMs`: messages stored meanwhile wait in
 *    the stream;
 * 3. then one `no_wait` pull takes up to the rest of the batch, which the server sends back to
 *    back and ends with a status (or by filling the batch): the batch is `ready`;
 * 4. after the owner applied it, `next()`: a full batch means more are waiting — pull again at
 *    once; otherwise wait `lingerMs` and pull what came meanwhile (3), and only when that finds
 *    nothing, go back to 1. Under steady load a batch is then one request and one burst.
 * Only one pull is outstanding at any time, so every delivery belongs to the current request.
 * Every request has a deadline. A wait the server never answers — not even with the 408 that
 * ends it — has no consumer behind it: `gone`, and the owner re-creates it from the stored
 * offset. A burst whose closing status never comes is handed over as it is. After a reconnect
 * (the server forgot the request) the wait is issued again with a short bound, so a consumer
 * that went with its server is found missing within seconds. A message that
 * arrives after its request was given up is still delivered in order (one subscription): the
 * owner's continuity check (core/continuity.ts) is what guards the sequence, not this class.
 */
export class BatchPull {
  private readonly inbox = createInbox()
  private readonly sub: Subscription
  private readonly api: string
  private state: 'first' | 'linger' | 'burst' | 'held' | 'closed' = 'held'
  /** Messages the current request asked for, and got. */
  private asked = 0
  private got = 0
  /** Messages of the batch being gathered (handed over by `ready`). */
  private inBatch = 0
  private timer: NodeJS.Timeout | undefined
  /** Statuses in a row that ended a wait without a message (back-off against a busy loop). */
  private refusals = 0

  constructor(private readonly o: BatchPullOptions) {
    this.api = `$JS.API.CONSUMER.MSG.NEXT.${o.stream}.${o.consumer}`
    this.sub = o.nc.subscribe(this.inbox, { callback: (_err, m) => this.arrived(m) })
  }

  /** Starts waiting for the first message. */
  start(): void {
    this.waitFirst()
  }

  /** The batch handed over by `ready` is applied: read on. */
  next(): void {
    if (this.state !== 'held') return
    const full = this.inBatch >= this.o.batch
    this.inBatch = 0
    if (full) this.burst()
    else this.linger()
  }

  /** The connection was re-established: the server forgot the outstanding request; ask again. */
  renew(): void {
    if (this.state === 'first') this.waitFirst(RENEWED_WAIT_MS)
    else if (this.state === 'burst') this.burst()
  }

  close(): void {
    this.state = 'closed'
    clearTimeout(this.timer)
    this.sub.unsubscribe()
  }

  private waitFirst(waitMs = this.o.waitMs ?? 30_000): void {
    this.state = 'first'
    this.request(1, { expires: waitMs * 1e6 }, waitMs + (this.o.lostMs ?? 2000), () => {
      this.state = 'held'
      this.o.gone()
    })
  }

  /** Nothing outstanding for `lingerMs`, then a burst. */
  private linger(): void {
    this.state = 'linger'
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.burst(), this.o.lingerMs)
  }

  /** Everything stored, up to the rest of the batch, at once. */
  private burst(): void {
    this.state = 'burst'
    this.request(this.o.batch - this.inBatch, { no_wait: true }, this.o.lostMs ?? 2000, () =>
      this.burstEnded(),
    )
  }

  private request(batch: number, how: object, deadlineMs: number, lost: () => void): void {
    this.asked = batch
    this.got = 0
    clearTimeout(this.timer)
    this.timer = setTimeout(lost, deadlineMs)
    this.o.nc.publish(this.api, JSON.stringify({ batch, ...how }), { reply: this.inbox })
  }

  private arrived(m: Msg): void {
    if (this.state === 'closed') return
    const info = m.reply ? ackInfo(m.reply) : undefined
    if (!info) {
      this.status(m)
      return
    }
    const nc = this.o.nc
    const reply = m.reply!
    this.got++
    this.inBatch++
    this.refusals = 0
    this.o.message({
      seq: info.seq,
      subject: m.subject,
      data: m.data,
      stream: info.stream,
      deliverySeq: info.deliverySeq,
      redelivered: info.delivered > 1,
      pending: info.pending,
      ack: () => nc.publish(reply, EMPTY),
    })
    if (this.state === 'first') {
      if (this.inBatch >= this.o.batch) this.done()
      else this.linger()
    } else if (this.state === 'burst' && this.got >= this.asked) this.burstEnded()
  }

  /**
   * A status ends the current request: 404 / 408 (nothing more now), 409 (the consumer is gone,
   * or the request was refused: a limit, a leadership change, a server shutting down).
   */
  private status(m: Msg): void {
    const code = m.headers?.code ?? 0
    const text = m.headers?.description?.toLowerCase() ?? ''
    if (code === 100) return // an idle heartbeat
    if (code === 409 && /deleted|not found/.test(text)) {
      clearTimeout(this.timer)
      this.state = 'held'
      this.o.gone()
      return
    }
    if (this.state === 'burst') this.burstEnded()
    else if (this.state === 'first') {
      // The wait expired (408): ask again at once. Refused: ask again after a pause that grows.
      if (code === 408) {
        this.waitFirst()
        return
      }
      this.refusals++
      clearTimeout(this.timer)
      this.timer = setTimeout(() => this.waitFirst(), Math.min(50 * 2 ** this.refusals, 5000))
    }
  }

  /** A burst is over: hand the batch over, or, when there is none, wait for a first message. */
  private burstEnded(): void {
    if (this.inBatch === 0) this.waitFirst()
    else this.done()
  }

  private done(): void {
    clearTimeout(this.timer)
    this.state = 'held'
    this.o.ready()
  }
}
