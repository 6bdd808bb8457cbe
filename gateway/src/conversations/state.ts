import type { ChatEvent, ConversationKind, Lane, MessageKind, Role } from '@chatapp/contracts'

/**
 * The folded state of one conversation, as a gateway needs it to decide commands and answer
 * `sync`: members with roles and join order, the last sequence of each lane, the dense message
 * count `n`, the last message, and every member's delivered/read watermarks.
 */
export interface MemberState {
  role: Role
  /** Join order: smaller joined earlier. Decides who becomes admin when the last admin goes. */
  order: number
  delivered: number
  read: number
  /** The message number `n` at the read watermark, for unread counts (`lastN - readN`). */
  readN: number
  /** Sequence of this member's first message (0: none): who receipts in a group are relevant to. */
  firstSent: number
}

export interface LastMessage {
  seq: number
  n: number
  senderId: string
  kind: MessageKind
  text?: string
  at: number
}

export interface ConversationState {
  id: string
  exists: boolean
  kind: ConversationKind
  title: string | null
  members: Map<string, MemberState>
  /** Next join order number. */
  joins: number
  /** Last stream sequence on the `.m` lane: the expectation for the next append. */
  lastM: number
  /** Last stream sequence on the `.r` lane. */
  lastR: number
  /** Dense number of the last message. */
  n: number
  lastMessage: LastMessage | null
  /** The latest messages as [seq, n] pairs, oldest first, to find `n` at a read watermark. */
  recent: [number, number][]
}

/** How many recent (seq, n) pairs a state keeps; older read watermarks are approximated. */
export const RECENT_MESSAGES = 256

export const emptyState = (id: string): ConversationState => ({
  id,
  exists: false,
  kind: id.startsWith('d_') ? 'direct' : 'group',
  title: null,
  members: new Map(),
  joins: 0,
  lastM: 0,
  lastR: 0,
  n: 0,
  lastMessage: null,
  recent: [],
})

export const lastSeq = (s: ConversationState): number => Math.max(s.lastM, s.lastR)

/** `n` of the last message at or before `seq`, from the recent window (a lower bound beyond it). */
export const nAt = (s: ConversationState, seq: number): number => {
  if (seq >= s.lastM) return s.n
  const r = s.recent
  for (let i = r.length - 1; i >= 0; i--) {
    const [rs, rn] = r[i]!
    if (rs <= seq) return rn
  }
  // Older than the window: every message in the window is after `seq`.
  const oldest = r[0]
  return oldest ? Math.max(0, oldest[1] - 1) : 0
}

const addMember = (s: ConversationState, userId: string, role: Role): void => {
  if (s.members.has(userId)) return
  s.members.set(userId, { role, order: s.joins++, delivered: 0, read: 0, readN: 0, firstSent: 0 })
}

/** A group always has an admin: when the last one goes, the longest-standing member becomes one. */
const ensureAdmin = (s: ConversationState): void => {
  if (s.kind !== 'group' || s.members.size === 0) return
  let oldest: MemberState | undefined
  for (const m of s.members.values()) {
    if (m.role === 'admin') return
    if (!oldest || m.order < oldest.order) oldest = m
  }
  if (oldest) oldest.role = 'admin'
}

const markDelivered = (s: ConversationState, userId: string, upTo: number): void => {
  const m = s.members.get(userId)
  if (m) m.delivered = Math.max(m.delivered, upTo)
}

/** Reading implies having received. */
const markRead = (s: ConversationState, userId: string, upTo: number): void => {
  const m = s.members.get(userId)
  if (m && upTo > m.read) {
    m.read = upTo
    m.readN = nAt(s, upTo)
    m.delivered = Math.max(m.delivered, upTo)
  }
}

/**
 * Folds one stored event into the state. It MUTATES `s` and returns it: a 1,024-member group
 * receives many receipts, and copying its member map for each one would cost more than the
 * append. The caller owns the state. Events at or below the lane's last sequence are ignored,
 * so folding the same event twice (live and from the stream) is harmless.
 */
export const evolve = (s: ConversationState, e: ChatEvent, seq: number, lane: Lane): ConversationState => {
  if (lane === 'm') {
    if (seq <= s.lastM) return s
    s.lastM = seq
  } else {
    if (seq <= s.lastR) return s
    s.lastR = seq
  }
  switch (e.type) {
    case 'conversation.created':
      s.exists = true
      s.kind = e.data.kind
      s.title = e.data.title
      for (const m of e.data.members) addMember(s, m.userId, m.role)
      break
    case 'conversation.renamed':
      s.title = e.data.title
      break
    case 'member.added':
      addMember(s, e.data.userId, e.data.role)
      break
    case 'member.removed':
    case 'member.left':
      s.members.delete(e.data.userId)
      ensureAdmin(s)
      break
    case 'member.role_changed': {
      const m = s.members.get(e.data.userId)
      if (m) m.role = e.data.role
      ensureAdmin(s)
      break
    }
    case 'message.sent': {
      s.n = e.data.n
      s.lastMessage = {
        seq,
        n: e.data.n,
        senderId: e.actor,
        kind: e.data.kind,
        ...(e.data.text !== undefined ? { text: e.data.text } : {}),
        at: e.at,
      }
      s.recent.push([seq, e.data.n])
      if (s.recent.length > RECENT_MESSAGES) s.recent.shift()
      // Sending is reading: the sender has seen everything up to their own message.
      const sender = s.members.get(e.actor)
      if (sender) {
        if (sender.firstSent === 0) sender.firstSent = seq
        sender.delivered = Math.max(sender.delivered, seq)
        if (seq > sender.read) {
          sender.read = seq
          sender.readN = e.data.n
        }
      }
      break
    }
    case 'media.ready':
    case 'media.failed':
      break
    case 'receipt.delivered':
      markDelivered(s, e.actor, e.data.upTo)
      break
    case 'receipt.read':
      markRead(s, e.actor, e.data.upTo)
      break
    case 'receipt.batch':
      // Each entry is the single receipt it stands for (ADR 0070); watermarks stay monotonic.
      for (const x of e.data.delivered) markDelivered(s, x.userId, x.upTo)
      for (const x of e.data.read) markRead(s, x.userId, x.upTo)
      break
    default: {
      const never: never = e
      throw new Error(`unhandled event ${(never as ChatEvent).type}`)
    }
  }
  return s
}

/** Snapshots for the `<ns>-conv-state` KV bucket: plain JSON. */
export interface StateSnapshot {
  v: 1
  id: string
  exists: boolean
  kind: ConversationKind
  title: string | null
  members: [string, MemberState][]
  joins: number
  lastM: number
  lastR: number
  n: number
  lastMessage: LastMessage | null
  recent: [number, number][]
}

export const toSnapshot = (s: ConversationState): StateSnapshot => ({
  v: 1,
  id: s.id,
  exists: s.exists,
  kind: s.kind,
  title: s.title,
  members: [...s.members.entries()].map(([k, m]) => [k, { ...m }]),
  joins: s.joins,
  lastM: s.lastM,
  lastR: s.lastR,
  n: s.n,
  lastMessage: s.lastMessage,
  recent: s.recent.map(([a, b]) => [a, b]),
})

export const fromSnapshot = (x: StateSnapshot): ConversationState => ({
  id: x.id,
  exists: x.exists,
  kind: x.kind,
  title: x.title,
  members: new Map(x.members.map(([k, m]) => [k, { ...m }])),
  joins: x.joins,
  lastM: x.lastM,
  lastR: x.lastR,
  n: x.n,
  lastMessage: x.lastMessage,
  recent: x.recent.map(([a, b]) => [a, b] as [number, number]),
})
