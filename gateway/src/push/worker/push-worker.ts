import {
  type DeadLetter,
  decodePushJob,
  encodeJson,
  type Names,
  type PushContent,
  type PushItem,
} from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream'
import { nanos } from '@nats-io/nats-core'
import type { ConversationMutes } from '../mutes.js'
import type { PushTargets, StoredTarget } from '../push-targets.js'
import { type Delivery, planBurst } from './plan.js'
import type { FailReason, PushMetrics } from './push-metrics.js'
import { backoffMs, type Outcome, type RetryPolicy } from './retry.js'
import type { PushTransport } from './transport.js'

/** What the worker reads of the accounts: display names and the per-user push settings. */
export interface UserFacts {
  of(
    userIds: readonly string[],
  ): Promise<Map<string, { displayName: string; pushContent: PushContent; pushMentionsWhenMuted: boolean }>>
}

export interface PushWorkerOptions {
  js: JetStreamClient
  names: Names
  log: Logger
  metrics: PushMetrics
  targets: PushTargets
  mutes: ConversationMutes
  users: UserFacts
  /** Devices with a live socket now, per user (presence.ts's `readPresence`). */
  online(userIds: readonly string[]): Promise<Map<string, Set<string>>>
  transports: Record<'webpush' | 'webhook', PushTransport>
  /** How long a burst of one conversation is collected before its notifications go. */
  coalesceMs: number
  ackWaitMs: number
  retry: RetryPolicy
  /** Failed notifications in a row after which a target is dead. */
  maxFailures: number
  /** Requests in flight at once. */
  concurrency: number
  operatorContent: PushContent
  now?: () => number
  random?: () => number
  /** After a delivery was settled and recorded (a test crashes the process here). */
  onSettled?: (d: Delivery, outcome: Outcome) => void
}

export const pushConsumerConfig = (n: Names, ackWaitMs: number) => ({
  durable_name: n.pushWorkerConsumer,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
  filter_subject: n.pushJobsAll,
  ack_wait: nanos(ackWaitMs),
  max_deliver: -1,
  // Jobs are held for the coalescing window: a burst over many conversations is many jobs at once.
  max_ack_pending: 20_000,
})

export const ensurePushConsumer = async (
  jsm: JetStreamManager,
  n: Names,
  ackWaitMs: number,
): Promise<void> => {
  const config = pushConsumerConfig(n, ackWaitMs)
  try {
    await jsm.consumers.info(n.pushJobStream, n.pushWorkerConsumer)
    await jsm.consumers.update(n.pushJobStream, n.pushWorkerConsumer, { ack_wait: config.ack_wait })
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.status === 404)) throw e
    await jsm.consumers.add(n.pushJobStream, config)
  }
}

/** A job taken and not settled: acknowledged once every burst holding one of its items is. */
interface Held {
  msg: JsMsg
  /** Items of it in bursts not settled yet. */
  open: number
  /** A burst with one of its items failed: the job comes back (the marks skip who was told). */
  failed: boolean
}

interface Burst {
  conversationId: string
  items: { item: PushItem; held: Held }[]
  /** When its window closes. */
  dueAt: number
}

const semaphore = (n: number) => {
  let free = n
  const waiting: (() => void)[] = []
  return async <T>(f: () => Promise<T>): Promise<T> => {
    if (free === 0) await new Promise<void>((r) => waiting.push(r))
    else free--
    try {
      return await f()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else free++
    }
  }
}

/**
 * The push sender (ADR 0190, 0193): a durable consumer of the push work queue, which the
 * projector's reactor fills with one job per committed batch (ADR 0150), its items grouped by
 * conversation. Items of one conversation are collected for `coalesceMs` (a burst), whatever job
 * they came in, then each target of an offline, not muting recipient gets one notification for
 * the burst. A job is acknowledged once every burst holding one of its items was settled and
 * recorded, so a crash means its bursts come back (after `ackWaitMs`), and the marks
 * (`push_marks`: per target and conversation, the newest sequence told) keep a target that was
 * already told from being told again. Held jobs renew their lease with `working()`. A job this
 * worker cannot read (a newer version, a broken shape) is dead-lettered with the reason.
 */
export const startPushWorker = async (o: PushWorkerOptions) => {
  const now = o.now ?? Date.now
  const random = o.random ?? Math.random
  const consumer = await o.js.consumers.get(o.names.pushJobStream, o.names.pushWorkerConsumer)
  const bursts = new Map<string, Burst>()
  const held = new Set<Held>()
  const inFlight = new Set<Promise<void>>()
  const limit = semaphore(o.concurrency)
  let stopped = false

  const lease = setInterval(
    () => {
      for (const h of held) h.msg.working()
    },
    Math.max(200, Math.floor(o.ackWaitMs / 3)),
  )
  lease.unref()

  const recordFailure = async (d: Delivery, reason: FailReason, detail: string) => {
    const kind = d.target.kind
    o.metrics.failed(kind, reason)
    if (reason === 'gone') await o.targets.markDead(d.target.id, detail, now())
    else if (await o.targets.failed(d.target.id, detail, o.maxFailures, now()))
      o.log.warn({ targetId: d.target.id, detail }, 'push target failed too often: dead')
  }

  const deliver = async (d: Delivery): Promise<void> => {
    const kind = d.target.kind
    o.metrics.attempted(kind)
    for (let attempt = 1; ; attempt++) {
      // A request that cannot even be built (a subscription key no curve point, a URL that no
      // longer parses) is this target's failure, never the burst's: the others are still told.
      const outcome = await limit(() => o.transports[kind].send(d)).catch((err: unknown): Outcome => {
        o.log.warn({ err, targetId: d.target.id }, 'push request could not be made')
        return { kind: 'refused', status: 0 }
      })
      switch (outcome.kind) {
        case 'accepted':
          await o.targets.mark(d.target.id, d.notification.conversationId, d.seq, now())
          await o.targets.succeeded(d.target.id)
          o.metrics.sent(kind, Math.max(0, now() - d.oldestAt) / 1000)
          break
        case 'gone':
          await recordFailure(d, 'gone', `HTTP ${outcome.status}: the subscription is gone`)
          break
        case 'refused':
          await recordFailure(d, 'refused', `HTTP ${outcome.status}`)
          break
        case 'retry':
          // Stopping does not cut retries short: they are bounded, and a SIGKILL after the grace
          // period only means the burst is delivered again (the marks skip who was told).
          if (attempt < o.retry.maxAttempts) {
            o.metrics.retried(kind)
            const wait = backoffMs(o.retry, attempt, random(), outcome.retryAfterMs)
            await new Promise((r) => setTimeout(r, wait))
            continue
          }
          await recordFailure(d, outcome.reason, `${outcome.reason} after ${attempt} attempts`)
          break
        default: {
          const never: never = outcome
          throw new Error(`unknown outcome ${JSON.stringify(never)}`)
        }
      }
      o.onSettled?.(d, outcome)
      return
    }
  }

  /** One burst, given its recipients' live targets. */
  const settleBurst = async (b: Burst, targets: readonly StoredTarget[]): Promise<void> => {
    const items = b.items.map((x) => x.item)
    const distinct = new Map(items.map((i) => [i.seq, i]))
    o.metrics.burst([...distinct.values()].reduce((n, i) => n + (i.type === 'message' ? i.count : 1), 0))
    if (targets.length === 0) return
    const owners = [...new Set(targets.map((t) => t.userId))]
    const at = now()
    const [muted, marks, facts] = await Promise.all([
      o.mutes.mutedAmong(b.conversationId, owners, at),
      o.targets.marks(
        targets.map((t) => t.id),
        b.conversationId,
      ),
      o.users.of([...owners, ...new Set(items.map((i) => i.senderId))]),
    ])
    // A muted owner is asked about only if a message mentions them (they may want those anyway).
    const mentioned = new Set(items.flatMap((i) => (i.type === 'message' ? (i.mentioned ?? []) : [])))
    const online = await o.online(owners.filter((u) => !muted.has(u) || mentioned.has(u)))
    const { deliveries, skipped } = planBurst({
      items,
      targets,
      online,
      muted,
      marks,
      content: new Map([...facts].map(([u, f]) => [u, f.pushContent])),
      mentionsWhenMuted: new Map([...facts].map(([u, f]) => [u, f.pushMentionsWhenMuted])),
      operatorContent: o.operatorContent,
      names: new Map([...facts].map(([u, f]) => [u, f.displayName])),
    })
    for (const [reason, n] of Object.entries(skipped)) o.metrics.skipped(reason as keyof typeof skipped, n)
    await Promise.all(deliveries.map(deliver))
  }

  /** A burst's items are settled: each job whose last open item this was is acked, or nakked. */
  const release = (b: Burst, failed: boolean) => {
    for (const { held: h } of b.items) {
      h.failed ||= failed
      if (--h.open > 0) continue
      held.delete(h)
      if (h.failed) h.msg.nak(1000)
      else h.msg.ack()
    }
  }

  const failed = (b: Burst) => (err: unknown) => {
    // PostgreSQL or NATS away: the burst comes back; targets already told are marked.
    o.log.warn({ err, conversationId: b.conversationId }, 'push burst failed; it will be retried')
    release(b, true)
  }

  /**
   * Bursts whose windows closed together share one query for their recipients' targets: most
   * recipients of a busy system have none (a live socket, no app installed), and that query is
   * then a burst's whole cost. Each burst is then settled and released on its own.
   */
  const settleBursts = async (list: readonly Burst[]): Promise<void> => {
    const recipients = (b: Burst) => new Set(b.items.flatMap((x) => x.item.recipients))
    let targets: StoredTarget[]
    try {
      targets = await o.targets.ofUsers([...new Set(list.flatMap((b) => [...recipients(b)]))])
    } catch (err) {
      for (const b of list) failed(b)(err)
      return
    }
    const byUser = new Map<string, StoredTarget[]>()
    for (const t of targets) byUser.set(t.userId, [...(byUser.get(t.userId) ?? []), t])
    await Promise.all(
      list.map((b) =>
        settleBurst(
          b,
          [...recipients(b)].flatMap((u) => byUser.get(u) ?? []),
        ).then(() => release(b, false), failed(b)),
      ),
    )
  }

  /** Takes the bursts whose window closed (all of them when stopping) and settles them. */
  const flushDue = (all: boolean) => {
    const at = now()
    const list = [...bursts.values()].filter((b) => all || b.dueAt <= at)
    if (list.length === 0) return
    for (const b of list) bursts.delete(b.conversationId)
    const p = settleBursts(list).finally(() => inFlight.delete(p))
    inFlight.add(p)
  }
  // Windows close on a tick (a window is `coalesceMs` to `coalesceMs + tick` long), so that the
  // bursts due together are settled together.
  const tick = setInterval(() => flushDue(false), Math.max(10, Math.min(100, Math.floor(o.coalesceMs / 4))))

  /**
   * A job this worker does not read goes to the dead-letter stream with the reason, then leaves
   * the queue; if even that publication fails it comes back later, never lost in silence.
   */
  const deadLetter = (msg: JsMsg, reason: string) => {
    o.log.error({ seq: msg.seq, reason }, 'push job not readable: dead-lettered')
    const dl: DeadLetter = {
      v: 1,
      source: 'push-worker',
      stream: o.names.pushJobStream,
      seq: msg.seq,
      subject: msg.subject.slice(0, 300),
      code: 'PUSH_JOB_INVALID',
      reason: reason.slice(0, 2000),
      payload: Buffer.from(msg.data).toString('base64'),
      at: now(),
    }
    o.js
      .publish(o.names.deadLetterSubject('push-worker'), encodeJson(dl), {
        msgID: `push-worker:${o.names.pushJobStream}:${msg.seq}`,
      })
      .then(
        () => {
          o.metrics.deadLettered()
          // Acknowledged, not terminated: the dead letter is its copy, and a work queue keeps a
          // terminated message (nats-server 2.9 does), which would hold the queue's depth up for ever.
          msg.ack()
        },
        (err: unknown) => {
          o.log.warn({ err, seq: msg.seq }, 'dead letter not published; the job comes back')
          msg.nak(5000)
        },
      )
  }

  const take = (msg: JsMsg) => {
    const d = decodePushJob(msg.data)
    if (!d.ok) {
      deadLetter(msg, [d.error.message, ...(d.error.details ?? [])].join('; '))
      return
    }
    const h: Held = { msg, open: d.value.items.length, failed: false }
    held.add(h)
    for (const item of d.value.items) {
      const id = item.conversationId
      const b = bursts.get(id)
      if (b) {
        b.items.push({ item, held: h })
        continue
      }
      bursts.set(id, { conversationId: id, items: [{ item, held: h }], dueAt: now() + o.coalesceMs })
    }
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        const batch = await consumer.fetch({ max_messages: 256, expires: 1000 })
        for await (const m of batch) take(m)
      } catch (e) {
        if (stopped) return
        o.log.warn({ err: e }, 'push job pull failed; retrying')
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
  })()
  o.log.info({ consumer: o.names.pushWorkerConsumer, coalesceMs: o.coalesceMs }, 'push worker consuming')

  return {
    /** Bursts collecting or being sent (tests). */
    busy: () => bursts.size + inFlight.size,
    /** Stops taking jobs, sends the bursts collected so far, and waits for them. */
    async stop() {
      stopped = true
      await loop
      clearInterval(tick)
      flushDue(true)
      while (inFlight.size > 0) await Promise.all([...inFlight])
      clearInterval(lease)
    },
  }
}

export type PushWorker = Awaited<ReturnType<typeof startPushWorker>>
