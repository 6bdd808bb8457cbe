import { createHash } from 'node:crypto'
import type { PushContent, PushItem, PushNotification } from '@chatapp/contracts'
import type { StoredTarget } from '../push-targets.js'

/** What the worker knows when a burst's window closes, read in a few queries (push-worker.ts). */
export interface BurstFacts {
  /** The burst's items: events of one conversation, any order, possibly repeated (redelivery, parts). */
  items: readonly PushItem[]
  targets: readonly StoredTarget[]
  /** Devices with a live socket now, per user. */
  online: ReadonlyMap<string, ReadonlySet<string>>
  /** Users with the conversation muted now. */
  muted: ReadonlySet<string>
  /** Per target: the newest sequence of this conversation it was told of. */
  marks: ReadonlyMap<string, number>
  /** Per user: what their notifications carry (absent: `full`). */
  content: ReadonlyMap<string, PushContent>
  /** Per user: whether their mentions are pushed where they muted (absent: true, ADR 0194). */
  mentionsWhenMuted: ReadonlyMap<string, boolean>
  /** The operator's setting: `none` overrides every user's. */
  operatorContent: PushContent
  /** Display names of the senders. */
  names: ReadonlyMap<string, string>
}

export interface Delivery {
  target: StoredTarget
  notification: PushNotification
  /** The newest event the notification stands for (the mark it moves to). */
  seq: number
  /** `at` of the oldest event it stands for: latency is measured from it. */
  oldestAt: number
  /** Web Push `Topic` (RFC 8030 §5.4): a newer burst replaces an undelivered older one. */
  topic: string
  urgency: 'high' | 'normal'
}

export type Skip = 'online' | 'muted' | 'already-sent'

/**
 * 32 characters of the URL-safe base64 alphabet, as RFC 8030 allows a Topic: one per conversation
 * for messages, another for reactions, so a reaction never replaces an unread message's notification.
 */
export const topicOf = (conversationId: string, type: PushItem['type'] = 'message'): string =>
  createHash('sha256')
    .update(type === 'message' ? conversationId : `${conversationId}:${type}`)
    .digest('base64url')
    .slice(0, 32)

const bySeqAsc = (a: PushItem, b: PushItem) => a.seq - b.seq

/**
 * Who is told what about one burst (ADR 0190, 0194), pure: one notification per target of a
 * recipient that has events it was not told of (above its mark), whose device has no live socket
 * and who has not muted the conversation — or muted it and is mentioned, and wants mentions
 * anyway (then it stands for the mentions only). It stands for every message (`count`) and shows
 * the newest; a burst with reactions and no message shows the newest reaction. The sender or
 * reactor is never a recipient (the item excludes them).
 */
export const planBurst = (f: BurstFacts): { deliveries: Delivery[]; skipped: Record<Skip, number> } => {
  const skipped: Record<Skip, number> = { online: 0, muted: 0, 'already-sent': 0 }
  // An item's sequence is its newest event's: one item per sequence, whatever job or part it came in.
  const bySeq = new Map<number, PushItem>()
  const seqsOf = new Map<string, Set<number>>()
  for (const item of f.items) {
    if (!bySeq.has(item.seq)) bySeq.set(item.seq, item)
    for (const u of item.recipients) {
      const set = seqsOf.get(u) ?? new Set<number>()
      seqsOf.set(u, set.add(item.seq))
    }
  }
  const deliveries: Delivery[] = []
  for (const target of f.targets) {
    const user = target.userId
    const mark = f.marks.get(target.id) ?? 0
    const mine = [...(seqsOf.get(user) ?? [])]
      .filter((s) => s > mark)
      .map((s) => bySeq.get(s)!)
      .sort(bySeqAsc)
    if (mine.length === 0) {
      if (seqsOf.has(user)) skipped['already-sent']++
      continue
    }
    const mentions = mine.filter((i) => i.type === 'message' && i.mentioned?.includes(user))
    let told = mine
    if (f.muted.has(user)) {
      if (mentions.length === 0 || f.mentionsWhenMuted.get(user) === false) {
        skipped.muted++
        continue
      }
      told = mentions
    }
    if (f.online.get(user)?.has(target.deviceId)) {
      skipped.online++
      continue
    }
    deliveries.push(deliveryOf(f, target, told, mentions.length > 0))
  }
  return { deliveries, skipped }
}

/** The notification of `told` (ascending, not empty) for one target. */
const deliveryOf = (f: BurstFacts, target: StoredTarget, told: PushItem[], mention: boolean): Delivery => {
  const messages = told.filter((i) => i.type === 'message')
  const shown = messages.length > 0 ? messages[messages.length - 1]! : told[told.length - 1]!
  const newest = told[told.length - 1]!
  const content = f.operatorContent === 'none' ? 'none' : (f.content.get(target.userId) ?? 'full')
  const base = {
    v: 1 as const,
    id: `${target.id}:${newest.conversationId}:${newest.seq}`,
    type: shown.type,
    conversationId: newest.conversationId,
    seq: newest.seq,
    count: messages.length > 0 ? messages.reduce((n, m) => n + m.count, 0) : told.length,
    content,
    at: newest.at,
  }
  const notification: PushNotification =
    content === 'none'
      ? base
      : {
          ...base,
          ...(mention ? { mention: true as const } : {}),
          conversationKind: shown.conversationKind,
          title: shown.title,
          sender: { userId: shown.senderId, displayName: f.names.get(shown.senderId) ?? '' },
          ...(shown.type === 'message'
            ? { kind: shown.kind, ...(shown.preview !== undefined ? { preview: shown.preview } : {}) }
            : { reaction: { emoji: shown.emoji, messageSeq: shown.messageSeq } }),
        }
  return {
    target,
    notification,
    seq: newest.seq,
    oldestAt: Math.min(...told.map((i) => i.firstAt)),
    topic: topicOf(shown.conversationId, shown.type),
    urgency: shown.conversationKind === 'direct' || mention ? 'high' : 'normal',
  }
}
