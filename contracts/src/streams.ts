import type { Names } from './naming.js'

/**
 * Streams, KV buckets and the S3 bucket as data. `infra` applies them idempotently (create, or
 * update to this config); services only assume they exist. Durations are milliseconds.
 */
export interface StreamSpec {
  name: string
  description: string
  subjects: string[]
  retention: 'limits' | 'workqueue'
  storage: 'file' | 'memory'
  replicas: number
  duplicateWindowMs: number
  maxMsgSize: number
  /** 0 = keep forever. */
  maxAgeMs: number
  /** RePublish every stored message, with Nats-Sequence and Nats-Last-Sequence headers, on core NATS. */
  republish?: { src: string; dest: string }
  /** Direct get (any replica answers reads by subject or sequence without a consumer). */
  allowDirect: boolean
}

export interface KvSpec {
  bucket: string
  description: string
  ttlMs: number
  history: number
  replicas: number
}

export interface LogSettings {
  replicas: number
  /** JetStream's duplicate window for Nats-Msg-Id; older retries are caught by the durable record. */
  duplicateWindowMs: number
  maxMsgSize: number
  presenceTtlMs: number
}

export const DEFAULT_LOG_SETTINGS: LogSettings = {
  replicas: 1,
  duplicateWindowMs: 2 * 60_000,
  maxMsgSize: 256 * 1024,
  presenceTtlMs: 60_000,
}

export const streamSpecs = (n: Names, s: LogSettings = DEFAULT_LOG_SETTINGS): StreamSpec[] => [
  ...Array.from(
    { length: n.shards },
    (_, shard): StreamSpec => ({
      name: n.convStream(shard),
      description: `Conversation logs, shard ${shard} of ${n.shards}: the source of truth.`,
      subjects: [n.convStreamSubjects(shard)],
      retention: 'limits',
      storage: 'file',
      replicas: s.replicas,
      duplicateWindowMs: s.duplicateWindowMs,
      maxMsgSize: s.maxMsgSize,
      maxAgeMs: 0,
      republish: { src: n.convStreamSubjects(shard), dest: n.liveConvPrefix(shard) },
      allowDirect: true,
    }),
  ),
  {
    name: n.userStream,
    description: 'Per-user membership notices: which conversations a user is in (derived, rebuildable).',
    subjects: [`${n.ns}.user.>`],
    retention: 'limits',
    storage: 'file',
    replicas: s.replicas,
    duplicateWindowMs: s.duplicateWindowMs,
    maxMsgSize: 4096,
    maxAgeMs: 0,
    republish: { src: `${n.ns}.user.>`, dest: `${n.ns}.live.user.>` },
    allowDirect: true,
  },
  {
    name: n.mediaJobStream,
    description: 'Media work queue: each job is taken by one worker and removed when acknowledged.',
    subjects: [n.mediaJobsAll],
    retention: 'workqueue',
    storage: 'file',
    replicas: s.replicas,
    duplicateWindowMs: s.duplicateWindowMs,
    maxMsgSize: 16 * 1024,
    maxAgeMs: 0,
    allowDirect: false,
  },
  {
    name: n.pushJobStream,
    description:
      'Push work queue: one job per projector batch (of a shard) with notifications, taken by the push worker and removed once every device was handled.',
    subjects: [n.pushJobsAll],
    retention: 'workqueue',
    storage: 'file',
    replicas: s.replicas,
    duplicateWindowMs: s.duplicateWindowMs,
    // A job holds at most PUSH_JOB_ITEMS items (each ≤ ~1.3 kB: a title and a preview of up to 3
    // UTF-8 bytes a character) and PUSH_JOB_RECIPIENTS recipients (~14 kB): under 200 kB.
    maxMsgSize: 256 * 1024,
    maxAgeMs: 0,
    allowDirect: false,
  },
  {
    name: n.deadLetterStream,
    description: 'Events and jobs a consumer could not apply, with the reason; for operators.',
    subjects: [`${n.ns}.dlq.>`],
    retention: 'limits',
    storage: 'file',
    replicas: s.replicas,
    duplicateWindowMs: s.duplicateWindowMs,
    maxMsgSize: s.maxMsgSize * 2,
    maxAgeMs: 0,
    allowDirect: true,
  },
]

export const kvSpecs = (n: Names, s: LogSettings = DEFAULT_LOG_SETTINGS): KvSpec[] => [
  {
    bucket: n.presenceBucket,
    description:
      'The gateways answering presence queries: one key per gateway, refreshed by it, expiring by TTL.',
    ttlMs: s.presenceTtlMs,
    history: 1,
    replicas: s.replicas,
  },
  {
    bucket: n.convStateBucket,
    description:
      'Snapshots of conversation state (members, roles, last sequence) so a gateway need not fold a whole log.',
    ttlMs: 0,
    history: 1,
    replicas: s.replicas,
  },
]
