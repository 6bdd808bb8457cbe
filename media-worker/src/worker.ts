import { type MediaJob, mediaJobDecoder, type Names } from '@chatapp/contracts'
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
import { mediaFailedEvent, mediaReadyEvent, publishMediaEvent } from './events.js'
import { settle } from './failure.js'
import type { WorkerMetrics } from './metrics.js'
import { type JobDeps, processJob } from './process-job.js'

/**
 * The pull consumer every worker shares. The work queue hands each job to one worker; an
 * unacknowledged job comes back after `ackWaitMs` (a crashed worker loses nothing), and a job
 * being processed renews its lease with `working()`. Attempts are counted by JetStream
 * (`deliveryCount`), so a job that kills its worker every time still ends after `maxAttempts`.
 */
export interface WorkerOptions {
  js: JetStreamClient
  jsm: JetStreamManager
  names: Names
  concurrency: number
  maxAttempts: number
  ackWaitMs: number
  deps: JobDeps
  metrics: WorkerMetrics
  log: Logger
  now?: () => number
}

export const consumerConfig = (n: Names, ackWaitMs: number) => ({
  durable_name: n.mediaWorkerConsumer,
  ack_policy: AckPolicy.Explicit,
  deliver_policy: DeliverPolicy.All,
  filter_subject: n.mediaJobsAll,
  ack_wait: nanos(ackWaitMs),
  // Unbounded here: the worker itself counts attempts and reports media.failed, which
  // JetStream's max_deliver could not do (it would leave the job silently undelivered).
  max_deliver: -1,
  max_ack_pending: 1000,
})

export const ensureConsumer = async (jsm: JetStreamManager, n: Names, ackWaitMs: number): Promise<void> => {
  const config = consumerConfig(n, ackWaitMs)
  try {
    await jsm.consumers.info(n.mediaJobStream, n.mediaWorkerConsumer)
    await jsm.consumers.update(n.mediaJobStream, n.mediaWorkerConsumer, { ack_wait: config.ack_wait })
  } catch (e) {
    if (!(e instanceof JetStreamApiError && e.status === 404)) throw e
    await jsm.consumers.add(n.mediaJobStream, config)
  }
}

export interface Worker {
  /** Stops taking jobs and waits for the ones in progress. */
  stop(): Promise<void>
}

export const startWorker = async (o: WorkerOptions): Promise<Worker> => {
  const now = o.now ?? Date.now
  const consumer = await o.js.consumers.get(o.names.mediaJobStream, o.names.mediaWorkerConsumer)
  let stopped = false

  const handle = async (msg: JsMsg): Promise<void> => {
    const started = now()
    const decoded = mediaJobDecoder.decode(msg.data)
    if (!decoded.ok) {
      // Not ours to report on (no valid conversation to tell): drop it for good, loudly.
      o.log.error({ seq: msg.seq, error: decoded.error }, 'invalid media job: terminated')
      msg.term('invalid media job')
      o.metrics.jobDone('unknown', 'invalid', (now() - started) / 1000)
      return
    }
    const job: MediaJob = decoded.value
    const attempt = msg.info.deliveryCount
    const log = o.log.child({
      mediaId: job.mediaId,
      conversationId: job.conversationId,
      kind: job.kind,
      attempt,
    })
    const lease = setInterval(() => msg.working(), Math.max(250, Math.floor(o.ackWaitMs / 3)))
    let error: unknown
    let ready: Awaited<ReturnType<typeof processJob>> | undefined
    try {
      // A delivery past the last attempt means earlier ones never settled (the worker died
      // in them): do not try a fourth time what may have killed three workers.
      if (attempt > o.maxAttempts) throw new Error('previous attempts did not finish (worker crashed?)')
      ready = await processJob(job, o.deps)
      await publishMediaEvent(o.js, o.names, mediaReadyEvent(job, ready, now()))
    } catch (e) {
      error = e
    }
    try {
      const s = settle(error, Math.min(attempt, o.maxAttempts), o.maxAttempts)
      switch (s.action) {
        case 'ack':
          msg.ack()
          log.info({ variants: ready?.variants.length, ms: now() - started }, 'media ready')
          o.metrics.jobDone(job.kind, 'ready', (now() - started) / 1000)
          return
        case 'fail':
          await publishMediaEvent(o.js, o.names, mediaFailedEvent(job, s, now()))
          msg.term(s.code)
          log.warn({ code: s.code, reason: s.reason }, 'media failed')
          o.metrics.jobDone(job.kind, 'failed', (now() - started) / 1000)
          return
        case 'retry':
          msg.nak(s.delayMs)
          log.warn({ err: error, delayMs: s.delayMs }, 'media job will be retried')
          o.metrics.jobDone(job.kind, 'retry', (now() - started) / 1000)
          return
        default: {
          const never: never = s
          throw new Error(`unknown settlement ${String(never)}`)
        }
      }
    } catch (e) {
      // Reporting the failure itself failed (NATS down): try the whole job again later.
      msg.nak(5000)
      log.error({ err: e }, 'could not settle media job; will retry')
      o.metrics.jobDone(job.kind, 'retry', (now() - started) / 1000)
    } finally {
      clearInterval(lease)
    }
  }

  const slot = async (i: number): Promise<void> => {
    while (!stopped) {
      try {
        const msg = await consumer.next({ expires: 2000 })
        if (msg) await handle(msg)
      } catch (e) {
        if (stopped) return
        o.log.warn({ err: e, slot: i }, 'media job pull failed; retrying')
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
  }
  const slots = Array.from({ length: o.concurrency }, (_, i) => slot(i))
  o.log.info({ concurrency: o.concurrency, consumer: o.names.mediaWorkerConsumer }, 'media worker consuming')
  return {
    stop: async () => {
      stopped = true
      await Promise.all(slots)
    },
  }
}

/** Jobs waiting for a worker, for the queue-depth gauge. */
export const queueDepth = (jsm: JetStreamManager, n: Names) => async (): Promise<number> =>
  (await jsm.consumers.info(n.mediaJobStream, n.mediaWorkerConsumer)).num_pending
