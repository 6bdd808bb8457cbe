import { createHash } from 'node:crypto'
import type { PushContent, PushJob, PushNotification } from '@chatapp/contracts'
import type { StoredTarget } from '../push-targets.js'

/** What the worker knows when a burst's window closes, read in a few queries (push-worker.ts). */
export interface BurstFacts {
  /** The burst's jobs: messages of one conversation, any order, possibly repeated (redelivery). */
  jobs: readonly PushJob[]
  targets: readonly StoredTarget[]
  /** Devices with a live socket now, per user. */
  online: ReadonlyMap<string, ReadonlySet<string>>
  /** Users with the conversation muted now. */
  muted: ReadonlySet<string>
  /** Per target: the newest sequence of this conversation it was told of. */
  marks: ReadonlyMap<string, number>
  /** Per user: what their notifications carry (absent: `full`). */
  content: ReadonlyMap<string, PushContent>
  /** The operator's setting: `none` overrides every user's. */
  operatorContent: PushContent
  /** Display names of the senders. */
  names: ReadonlyMap<string, string>
}

export interface Delivery {
  target: StoredTarget
  notification: PushNotification
  /** The message the notification stands for last (the mark it moves to). */
  seq: number
  /** `at` of the oldest message it stands for: latency is measured from it. */
  oldestAt: number
  /** Web Push `Topic` (RFC 8030 §5.4): a newer burst replaces an undelivered older one. */
  topic: string
  urgency: 'high' | 'normal'
}

export type Skip = 'online' | 'muted' | 'already-sent'

/** 32 characters of the URL-safe base64 alphabet, as RFC 8030 allows a Topic. */
export const topicOf = (conversationId: string): string =>
  createHash('sha256').update(conversationId).digest('base64url').slice(0, 32)

/**
 * Who is told what about one burst (ADR 0190), pure: one notification per target of a recipient
 * that has messages it was not told of (above its mark), whose device has no live socket and
 * who has not muted the conversation. It stands for all of them (`count`) and shows the newest.
 * The sender is never a recipient (the job excludes them).
 */
export const planBurst = (f: BurstFacts): { deliveries: Delivery[]; skipped: Record<Skip, number> } => {
  const skipped: Record<Skip, number> = { online: 0, muted: 0, 'already-sent': 0 }
  const bySeq = new Map<number, PushJob>()
  const seqsOf = new Map<string, number[]>()
  for (const j of f.jobs) {
    if (!bySeq.has(j.seq)) bySeq.set(j.seq, j)
    for (const u of j.recipients) {
      const list = seqsOf.get(u) ?? []
      if (!list.includes(j.seq)) list.push(j.seq)
      seqsOf.set(u, list)
    }
  }
  const deliveries: Delivery[] = []
  for (const target of f.targets) {
    const seqs = (seqsOf.get(target.userId) ?? []).filter((s) => s > (f.marks.get(target.id) ?? 0))
    if (seqs.length === 0) {
      if (seqsOf.has(target.userId)) skipped['already-sent']++
      continue
    }
    if (f.muted.has(target.userId)) {
      skipped.muted++
      continue
    }
    if (f.online.get(target.userId)?.has(target.deviceId)) {
      skipped.online++
      continue
    }
    seqs.sort((a, b) => a - b)
    const last = bySeq.get(seqs[seqs.length - 1]!)!
    const oldestAt = Math.min(...seqs.map((s) => bySeq.get(s)!.at))
    const content = f.operatorContent === 'none' ? 'none' : (f.content.get(target.userId) ?? 'full')
    const base = {
      v: 1 as const,
      id: `${target.id}:${last.conversationId}:${last.seq}`,
      type: 'message' as const,
      conversationId: last.conversationId,
      seq: last.seq,
      count: seqs.length,
      content,
      at: last.at,
    }
    const notification: PushNotification =
      content === 'none'
        ? base
        : {
            ...base,
            conversationKind: last.conversationKind,
            title: last.title,
            sender: { userId: last.senderId, displayName: f.names.get(last.senderId) ?? '' },
            kind: last.kind,
            ...(last.preview !== undefined ? { preview: last.preview } : {}),
          }
    deliveries.push({
      target,
      notification,
      seq: last.seq,
      oldestAt,
      topic: topicOf(last.conversationId),
      urgency: last.conversationKind === 'direct' ? 'high' : 'normal',
    })
  }
  return { deliveries, skipped }
}
