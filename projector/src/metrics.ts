import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** The projector's metrics, registered on the ops server's registry. */
export interface ProjectorMetrics {
  lagEvents: Gauge<'shard'>
  lagSeconds: Gauge<'shard'>
  batchSize: Histogram
  statementShards: Histogram
  applySeconds: Histogram
  eventsTotal: Counter<'type'>
  skippedTotal: Counter
  deadLettersTotal: Counter
  failuresTotal: Counter<'shard' | 'kind'>
  repositionsTotal: Counter<'shard' | 'reason'>
  outboxRows: Gauge<'shard'>
  effectsPublished: Counter<'path'>
  effectFailures: Counter
}

export const createMetrics = (registry: Registry): ProjectorMetrics => ({
  lagEvents: new Gauge({
    name: 'projector_lag_events',
    help: 'Events of the shard stream after the stored offset: not applied yet.',
    labelNames: ['shard'],
    registers: [registry],
  }),
  lagSeconds: new Gauge({
    name: 'projector_lag_seconds',
    help: 'At the last commit: commit time minus the `at` of the last event applied.',
    labelNames: ['shard'],
    registers: [registry],
  }),
  batchSize: new Histogram({
    name: 'projector_batch_size',
    help: 'Events per applied batch.',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000],
    registers: [registry],
  }),
  statementShards: new Histogram({
    name: 'projector_statement_shards',
    help: 'Shards whose batches went in one fast-path statement (ADR 0226).',
    buckets: [1, 2, 3, 4, 6, 8, 12, 16],
    registers: [registry],
  }),
  applySeconds: new Histogram({
    name: 'projector_apply_seconds',
    help: 'Time to apply one batch (transaction included).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
  eventsTotal: new Counter({
    name: 'projector_events_total',
    help: 'Events applied, by type.',
    labelNames: ['type'],
    registers: [registry],
  }),
  skippedTotal: new Counter({
    name: 'projector_skipped_total',
    help: 'Events delivered again at or below the stored offset, and skipped.',
    registers: [registry],
  }),
  deadLettersTotal: new Counter({
    name: 'projector_dead_letters_total',
    help: 'Events dead-lettered (undecodable, breaking an invariant, or refused by PostgreSQL).',
    registers: [registry],
  }),
  failuresTotal: new Counter({
    name: 'projector_batch_failures_total',
    help: 'Batches that failed to apply and were retried (kind: transient, or unexpected).',
    labelNames: ['shard', 'kind'],
    registers: [registry],
  }),
  repositionsTotal: new Counter({
    name: 'projector_repositions_total',
    help: 'Shard consumers re-created at the stored offset + 1, by reason (start, gap, hole, failure, stall, consumer).',
    labelNames: ['shard', 'reason'],
    registers: [registry],
  }),
  outboxRows: new Gauge({
    name: 'projector_outbox_rows',
    help: 'Effects in the shard outbox not yet acknowledged by JetStream, as counted at the last drain.',
    labelNames: ['shard'],
    registers: [registry],
  }),
  effectsPublished: new Counter({
    name: 'projector_effects_published_total',
    help: 'Effects published and removed from the outbox (path: commit, right after the batch; drain, later).',
    labelNames: ['path'],
    registers: [registry],
  }),
  effectFailures: new Counter({
    name: 'projector_effect_publish_failures_total',
    help: 'Publication rounds that failed; their effects stay in the outbox for the next drain.',
    registers: [registry],
  }),
})
