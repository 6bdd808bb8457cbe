/**
 * Every NATS subject, stream, consumer and KV bucket, every S3 bucket and database schema is
 * derived here from a namespace, so that test runs and tenants sharing one NATS, PostgreSQL or
 * S3 never collide (JetStream refuses two streams with overlapping subjects).
 *
 * Subject layout (ns = namespace):
 *   <ns>.conv.<shard>.<conversationId>.m          messages, membership, media state
 *   <ns>.conv.<shard>.<conversationId>.r          delivery and read receipts
 *   <ns>.live.conv.<shard>.<conversationId>.<m|r> RePublish of the above (core NATS)
 *   <ns>.user.<shard>.<userId>                    a user's membership notices (derived index)
 *   <ns>.user.<shard>.<userId>.invitations        a user's invitation notices (derived index)
 *   <ns>.live.user.<shard>.<userId>[.invitations] RePublish of the above
 *   <ns>.eph.typing.<conversationId>              typing indicators (core NATS only)
 *   <ns>.eph.revoked                              logged-out sessions (core NATS only)
 *   <ns>.media.jobs.<kind>                        media work queue
 *   <ns>.push.jobs.<shard>                        push work queue (one job per accepted message)
 *   <ns>.eph.mute.<userId>                        a user's mute changes (core NATS only)
 *   <ns>.eph.presence.query                       presence queries every gateway answers (core NATS)
 *   <ns>.eph.presence.changes                     gateways' presence changes (core NATS only)
 */

export type Lane = 'm' | 'r'

const NAMESPACE = /^[a-z][a-z0-9]{0,23}$/

export const isValidNamespace = (ns: string): boolean => NAMESPACE.test(ns)

/** FNV-1a, 32 bit: stable across processes, languages and releases, unlike a runtime hash. */
export const fnv1a32 = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

export const shardOf = (id: string, shards: number): number => fnv1a32(id) % shards

export interface Names {
  readonly ns: string
  readonly shards: number
  shardOf(conversationId: string): number
  convStream(shard: number): string
  convStreamSubjects(shard: number): string
  convSubject(conversationId: string, lane: Lane): string
  /** Both lanes of one conversation, for consumers that replay it. */
  convAllSubject(conversationId: string): string
  liveConvSubject(conversationId: string, lane: Lane): string
  /** Both lanes of one conversation, live: what a gateway subscribes to per conversation. */
  liveConvAll(conversationId: string): string
  liveConvPrefix(shard: number): string
  userStream: string
  userSubject(userId: string): string
  liveUserSubject(userId: string): string
  /**
   * A user's invitation notices: in the user stream (`<ns>.user.>`), but not the membership
   * subject, so whoever folds membership notices never meets one.
   */
  userInvitationSubject(userId: string): string
  liveUserInvitationSubject(userId: string): string
  /**
   * Every user's live invitation notices: invitations are rare, so a gateway follows them all with
   * one subscription and keeps those of its connected users, instead of one more per user.
   */
  liveUserInvitationsAll: string
  /**
   * Every user's live membership notices: a gateway follows them with one subscription and keeps
   * those of its connected users (ADR 0173), so an online user costs the NATS server no
   * subscription of its own.
   */
  liveUserNoticesAll: string
  typingSubject(conversationId: string): string
  /** Logouts, broadcast to every gateway so revoked sessions stop at once (core NATS). */
  revokedSessionsSubject: string
  /** The gateway roster: one key per live gateway (ADR 0174), no key per user. */
  presenceBucket: string
  presenceQuerySubject: string
  presenceChangesSubject: string
  convStateBucket: string
  mediaJobStream: string
  mediaJobSubject(kind: string): string
  mediaJobsAll: string
  mediaWorkerConsumer: string
  /** Push work queue: one job per accepted message, by conversation shard (ADR 0190). */
  pushJobStream: string
  pushJobSubject(conversationId: string): string
  pushJobsAll: string
  pushWorkerConsumer: string
  /** A user's mute changes, to their other devices (core NATS). */
  muteSubject(userId: string): string
  mutesAll: string
  deadLetterStream: string
  deadLetterSubject(source: string): string
  projectorConsumer(shard: number): string
  s3Bucket: string
  /** The log archive (ADR 0200): its own bucket, so it gets its own lifecycle and storage class. */
  archiveBucket: string
  /**
   * PostgreSQL schemas: the gateway's own tables (accounts, media records), the projector's views,
   * and the archiver's (the last archived sequence of each conversation subject: ADR 0201).
   */
  dbSchemas: { gateway: string; views: string; archive: string }
}

export const names = (ns: string, shards: number): Names => {
  if (!isValidNamespace(ns)) {
    throw new Error(`namespace "${ns}" must be 1-24 chars of [a-z0-9], starting with a letter`)
  }
  if (!Number.isInteger(shards) || shards < 1 || shards > 1024) {
    throw new Error(`shard count ${shards} must be an integer from 1 to 1024`)
  }
  const shard = (id: string) => shardOf(id, shards)
  return {
    ns,
    shards,
    shardOf: shard,
    convStream: (s) => `${ns}-conv-${s}`,
    convStreamSubjects: (s) => `${ns}.conv.${s}.>`,
    convSubject: (id, lane) => `${ns}.conv.${shard(id)}.${id}.${lane}`,
    convAllSubject: (id) => `${ns}.conv.${shard(id)}.${id}.*`,
    liveConvSubject: (id, lane) => `${ns}.live.conv.${shard(id)}.${id}.${lane}`,
    liveConvAll: (id) => `${ns}.live.conv.${shard(id)}.${id}.*`,
    liveConvPrefix: (s) => `${ns}.live.conv.${s}.>`,
    userStream: `${ns}-users`,
    userSubject: (userId) => `${ns}.user.${shard(userId)}.${userId}`,
    liveUserSubject: (userId) => `${ns}.live.user.${shard(userId)}.${userId}`,
    userInvitationSubject: (userId) => `${ns}.user.${shard(userId)}.${userId}.invitations`,
    liveUserInvitationSubject: (userId) => `${ns}.live.user.${shard(userId)}.${userId}.invitations`,
    liveUserInvitationsAll: `${ns}.live.user.*.*.invitations`,
    liveUserNoticesAll: `${ns}.live.user.*.*`,
    typingSubject: (id) => `${ns}.eph.typing.${id}`,
    revokedSessionsSubject: `${ns}.eph.revoked`,
    presenceBucket: `${ns}-presence`,
    presenceQuerySubject: `${ns}.eph.presence.query`,
    presenceChangesSubject: `${ns}.eph.presence.changes`,
    convStateBucket: `${ns}-conv-state`,
    mediaJobStream: `${ns}-media-jobs`,
    mediaJobSubject: (kind) => `${ns}.media.jobs.${kind}`,
    mediaJobsAll: `${ns}.media.jobs.>`,
    mediaWorkerConsumer: `${ns}-media-worker`,
    pushJobStream: `${ns}-push-jobs`,
    pushJobSubject: (id) => `${ns}.push.jobs.${shard(id)}`,
    pushJobsAll: `${ns}.push.jobs.>`,
    pushWorkerConsumer: `${ns}-push-worker`,
    muteSubject: (userId) => `${ns}.eph.mute.${userId}`,
    mutesAll: `${ns}.eph.mute.*`,
    deadLetterStream: `${ns}-dead-letters`,
    deadLetterSubject: (source) => `${ns}.dlq.${source}`,
    projectorConsumer: (s) => `${ns}-projector-${s}`,
    s3Bucket: `${ns}-media`,
    archiveBucket: `${ns}-archive`,
    dbSchemas: { gateway: `${ns}_gateway`, views: `${ns}_views`, archive: `${ns}_archive` },
  }
}

/** Parses `<ns>.conv.<shard>.<id>.<lane>` (or its `live.` twin) back into its parts. */
export const parseConvSubject = (
  subject: string,
): { ns: string; shard: number; conversationId: string; lane: Lane } | undefined => {
  const p = subject.split('.')
  const live = p[1] === 'live' ? 1 : 0
  if (p.length !== 5 + live || p[1 + live] !== 'conv') return undefined
  const lane = p[4 + live]
  if (lane !== 'm' && lane !== 'r') return undefined
  return { ns: p[0]!, shard: Number(p[2 + live]), conversationId: p[3 + live]!, lane }
}

/** Headers the log uses besides JetStream's own. */
export const HEADERS = {
  eventType: 'Chat-Event',
  /**
   * The `.m` sequence the writer expected its event to follow (its subject-sequence expectation).
   * A lower bound for readers that replay a range: every event before it on the lane is older.
   */
  prev: 'Chat-Prev',
  msgId: 'Nats-Msg-Id',
  expectedLastSubjectSeq: 'Nats-Expected-Last-Subject-Sequence',
  /** Set by RePublish: this event's stream sequence and the previous one on the same subject. */
  sequence: 'Nats-Sequence',
  lastSequence: 'Nats-Last-Sequence',
  subject: 'Nats-Subject',
} as const
