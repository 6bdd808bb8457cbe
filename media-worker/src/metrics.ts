import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export type JobOutcome = 'ready' | 'failed' | 'retry' | 'invalid'

export interface WorkerMetrics {
  jobDone(kind: string, outcome: JobOutcome, seconds: number): void
}

/** Job counts and durations by kind and outcome, and the queue depth read from the consumer on scrape. */
export const workerMetrics = (registry: Registry, queueDepth: () => Promise<number>): WorkerMetrics => {
  const duration = new Histogram({
    name: 'media_job_duration_seconds',
    help: 'Time to process one media job attempt, by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  })
  const total = new Counter({
    name: 'media_jobs_total',
    help: 'Media job attempts, by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    registers: [registry],
  })
  new Gauge({
    name: 'media_queue_depth',
    help: 'Media jobs waiting for a worker (the consumer num_pending).',
    registers: [registry],
    async collect() {
      try {
        this.set(await queueDepth())
      } catch {
        // NATS unreachable: keep the last value; readiness reports the outage
      }
    },
  })
  return {
    jobDone(kind, outcome, seconds) {
      duration.observe({ kind, outcome }, seconds)
      total.inc({ kind, outcome })
    },
  }
}
