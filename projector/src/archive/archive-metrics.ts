import type { ArchiveCheckpoint } from '@chatapp/contracts'
import type { StreamState } from '@nats-io/jetstream'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** The archivers' metrics (docs/operators.md, alerts.yml: ChatappArchiveLagging). */
export const createArchiveMetrics = (registry: Registry) => {
  const lagEvents = new Gauge({
    name: 'archive_lag_events',
    help: 'Messages of the shard stream not archived yet.',
    labelNames: ['shard'],
    registers: [registry],
  })
  const lagSeconds = new Gauge({
    name: 'archive_lag_seconds',
    help: 'Age of the oldest message of the shard stream not archived yet (0 when none).',
    labelNames: ['shard'],
    registers: [registry],
  })
  const archivedBytes = new Gauge({
    name: 'archive_bytes',
    help: 'Compressed bytes of the shard archive (recorded segments).',
    labelNames: ['shard'],
    registers: [registry],
  })
  const archivedSeq = new Gauge({
    name: 'archive_archived_to_seq',
    help: 'The shard archive is complete up to this stream sequence.',
    labelNames: ['shard'],
    registers: [registry],
  })
  const hotBytes = new Gauge({
    name: 'archive_hot_bytes',
    help: 'Bytes the shard stream holds (the hot log).',
    labelNames: ['shard'],
    registers: [registry],
  })
  const hotFrom = new Gauge({
    name: 'archive_hot_first_seq',
    help: "The shard stream's first sequence: older ones are served by the archive.",
    labelNames: ['shard'],
    registers: [registry],
  })
  const events = new Counter({
    name: 'archive_events_total',
    help: 'Messages archived.',
    registers: [registry],
  })
  const segmentSeconds = new Histogram({
    name: 'archive_segment_seconds',
    help: 'Time to encode, store, read back and record one segment.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const trimmed = new Counter({
    name: 'archive_trimmed_total',
    help: 'Messages purged from the shard streams after they were archived and projected.',
    labelNames: ['shard'],
    registers: [registry],
  })
  const failures = new Counter({
    name: 'archive_failures_total',
    help: 'Archive passes that failed and were retried.',
    labelNames: ['shard'],
    registers: [registry],
  })
  const lost = new Counter({
    name: 'archive_lost_events_total',
    help: 'Messages the stream no longer held when the archiver reached them (must stay 0).',
    labelNames: ['shard'],
    registers: [registry],
  })
  return {
    trimmed,
    failures,
    lost,
    /** Per pass: where the stream and the archive stand. */
    observe(
      shard: number,
      s: StreamState,
      cp: ArchiveCheckpoint,
      oldestBufferedAt: number | undefined,
      now: number,
    ) {
      const l = { shard }
      lagEvents.set(l, Math.max(0, s.last_seq - cp.archivedTo))
      lagSeconds.set(
        l,
        s.last_seq > cp.archivedTo && oldestBufferedAt ? Math.max(0, (now - oldestBufferedAt) / 1000) : 0,
      )
      archivedBytes.set(l, cp.bytes)
      archivedSeq.set(l, cp.archivedTo)
      hotBytes.set(l, s.bytes)
      hotFrom.set(l, s.first_seq)
    },
    segment(_shard: number, count: number, _bytes: number, seconds: number) {
      events.inc(count)
      segmentSeconds.observe(seconds)
    },
  }
}

export type ArchiveMetrics = ReturnType<typeof createArchiveMetrics>
