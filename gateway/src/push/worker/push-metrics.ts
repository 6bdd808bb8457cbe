import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Skip } from './plan.js'

export type FailReason = 'gone' | 'rate_limited' | 'server_error' | 'network' | 'timeout' | 'refused'

export interface PushMetrics {
  attempted(kind: string): void
  retried(kind: string): void
  sent(kind: string, latencySeconds: number): void
  failed(kind: string, reason: FailReason): void
  skipped(reason: Skip, n: number): void
  /** Events (messages and reactions) of a burst. */
  burst(events: number): void
  /** A job no worker of this version reads, dead-lettered. */
  deadLettered(): void
}

/** docs/operators.md lists these. */
export const pushMetrics = (registry: Registry, queueDepth?: () => Promise<number>): PushMetrics => {
  const r = [registry]
  const attempted = new Counter({
    name: 'push_attempted_total',
    help: 'Notifications the push worker set out to deliver, by target kind.',
    labelNames: ['kind'],
    registers: r,
  })
  const retries = new Counter({
    name: 'push_retries_total',
    help: 'Requests repeated after a 429, a 5xx, a timeout or a broken connection.',
    labelNames: ['kind'],
    registers: r,
  })
  const sent = new Counter({
    name: 'push_sent_total',
    help: 'Notifications the push service or relay accepted, by target kind.',
    labelNames: ['kind'],
    registers: r,
  })
  const failed = new Counter({
    name: 'push_failed_total',
    help: 'Notifications not delivered, by target kind and reason (gone: 404/410, the target died; the rest after the bounded retries).',
    labelNames: ['kind', 'reason'],
    registers: r,
  })
  const skipped = new Counter({
    name: 'push_skipped_total',
    help: 'Notifications not sent on purpose: the device was online, the member muted the conversation, or it was sent before (a redelivery).',
    labelNames: ['reason'],
    registers: r,
  })
  const latency = new Histogram({
    name: 'push_latency_seconds',
    help: 'From a message being stored to the push service accepting its notification (includes the coalescing window).',
    labelNames: ['kind'],
    buckets: [0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300],
    registers: r,
  })
  const bursts = new Histogram({
    name: 'push_burst_messages',
    help: 'Events (messages and reactions) per coalesced burst of one conversation.',
    buckets: [1, 2, 5, 10, 50, 100, 1000],
    registers: r,
  })
  const dead = new Counter({
    name: 'push_jobs_dead_lettered_total',
    help: 'Push jobs of a shape or version this worker does not read: dead-lettered, not sent.',
    registers: r,
  })
  if (queueDepth)
    new Gauge({
      name: 'push_queue_depth',
      help: 'Push jobs not yet taken by a worker (the consumer num_pending).',
      registers: r,
      async collect() {
        try {
          this.set(await queueDepth())
        } catch {
          // NATS unreachable: keep the last value; readiness reports the outage
        }
      },
    })
  return {
    attempted: (kind) => attempted.inc({ kind }),
    retried: (kind) => retries.inc({ kind }),
    sent: (kind, s) => {
      sent.inc({ kind })
      latency.observe({ kind }, s)
    },
    failed: (kind, reason) => failed.inc({ kind, reason }),
    skipped: (reason, n) => {
      if (n > 0) skipped.inc({ reason }, n)
    },
    burst: (events) => bursts.observe(events),
    deadLettered: () => dead.inc(),
  }
}
