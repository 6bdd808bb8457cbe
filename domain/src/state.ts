import type { ConversationKind, MediaRef, MessageKind, Role } from '@chatapp/contracts'
import type { InviteLink } from './invite-links.js'
import type { JoinRequest } from './join-requests.js'
import {
  DEFAULT_SETTINGS,
  type MemberStanding,
  type MembershipView,
  type ResolvedSettings,
} from './membership.js'

/** A member as the folded state keeps them. */
export interface MemberState extends MemberStanding {
  role: Role
  delivered: number
  read: number
  /**
   * `n` of the last message at or before the member's read point (the read watermark, or the
   * sequence they joined at, whichever is later): unread = last `n` − `readN`. -1 when the read
   * watermark lies before the state's window of recent messages and the fold could not tell; a
   * reader that needs the exact figure resolves it from the log (see `unreadCount`).
   */
  readN: number
  /** Sequence of this member's first accepted message (0: none): who receipts in a group concern. */
  firstSent: number
  /**
   * Sequences of messages that mention this member and are past their read watermark, oldest
   * first (ADR 0214): the unread mentions. Read ones are dropped as the watermark moves; at most
   * MAX_PENDING_MENTIONS are kept (the count then saturates).
   */
  mentions: number[]
}

export const MAX_PENDING_MENTIONS = 999

/** A pending invitation: who invited, and the event that did (ADR 0140). */
export interface Invitation {
  by: string
  seq: number
  at: number
}

export interface LastMessage {
  seq: number
  n: number
  senderId: string
  kind: MessageKind
  text?: string
  at: number
  /** Its text was edited (the text here is the latest). */
  edited?: true
  /** Deleted for everyone: a tombstone, without text. */
  deleted?: true
}

/**
 * The folded state of one conversation. Lanes are folded separately, each contiguously:
 * `lastM` / `lastR` are the last sequences folded on each, accepted or not.
 */
export interface ConversationState extends MembershipView {
  id: string
  exists: boolean
  kind: ConversationKind
  title: string | null
  /** A group's description and avatar (ADR 0215). */
  description: string | null
  avatar: MediaRef | null
  settings: ResolvedSettings
  links: Map<string, InviteLink>
  members: Map<string, MemberState>
  /** Last stream sequence folded on the `.m` lane: a writer's expectation for its next append. */
  lastM: number
  /** Last accepted `.m` sequence: what the next accepted `.m` event follows (`prev` for clients). */
  headM: number
  lastR: number
  n: number
  lastMessage: LastMessage | null
  /** The latest accepted messages as [seq, n] pairs, oldest first, to find `n` at a watermark. */
  recent: [number, number][]
  /**
   * Rejected `.m` events: sequence → the last accepted `.m` sequence before it. Rare (a race
   * during a stream leader change, or a hostile writer); readers skip these and never name one
   * as a `prev`.
   */
  rejected: Map<number, number>
  /** Pending invitations: invited users, who are not members (the two never overlap). */
  invited: Map<string, Invitation>
  /** Users who declined an invitation: the group cannot invite them again. */
  declined: Set<string>
  /** Pending join requests through links that need approval (ADR 0217); never members. */
  requests: Map<string, JoinRequest>
  /** Users whose join request was denied: they cannot ask again. */
  denied: Set<string>
  /**
   * Messages deleted for everyone (their `seq`): refused as targets of later commands and
   * redacted when a catch-up replays the log (ADR 0212). Grows with deletes only, which a sender
   * makes one by one.
   */
  deleted: Set<number>
  /**
   * Edited messages: `seq` → the sequence of its latest accepted `message.edited`, where a writer
   * reads its current text (a quote's preview, a forward). Grows with edits only.
   */
  edited: Map<number, number>
}

/** How many recent (seq, n) pairs a state keeps. */
export const RECENT_MESSAGES = 256

export const emptyState = (id: string): ConversationState => ({
  id,
  exists: false,
  kind: id.startsWith('d_') ? 'direct' : 'group',
  title: null,
  description: null,
  avatar: null,
  settings: DEFAULT_SETTINGS,
  links: new Map(),
  members: new Map(),
  lastM: 0,
  headM: 0,
  lastR: 0,
  n: 0,
  lastMessage: null,
  recent: [],
  rejected: new Map(),
  invited: new Map(),
  declined: new Set(),
  requests: new Map(),
  denied: new Set(),
  deleted: new Set(),
  edited: new Map(),
})

/** The conversation's cursor: the last sequence folded on either lane. */
export const lastSeq = (s: ConversationState): number => Math.max(s.lastM, s.lastR)

/** The last accepted `.m` sequence at or before `seq` when `seq` is a folded `.m` sequence. */
export const acceptedAtOrBefore = (s: ConversationState, seq: number): number => s.rejected.get(seq) ?? seq

/**
 * `n` of the last accepted message at or before `seq`, exactly, or undefined when `seq` lies
 * before the window of recent messages (and after the conversation's first message).
 */
export const nAt = (s: ConversationState, seq: number): number | undefined => {
  const r = s.recent
  for (let i = r.length - 1; i >= 0; i--) {
    const [rs, rn] = r[i]!
    if (rs <= seq) return rn
  }
  // Before every message in the window: exact only if the window reaches back to message 1.
  const oldest = r[0]
  return !oldest || oldest[1] === 1 ? 0 : undefined
}

/** Snapshots for the `<ns>-conv-state` KV bucket: plain JSON. */
export interface StateSnapshot {
  v: 5
  id: string
  exists: boolean
  kind: ConversationKind
  title: string | null
  description: string | null
  avatar: MediaRef | null
  settings: ResolvedSettings
  links: [string, InviteLink][]
  members: [string, MemberState][]
  lastM: number
  headM: number
  lastR: number
  n: number
  lastMessage: LastMessage | null
  recent: [number, number][]
  rejected: [number, number][]
  invited: [string, Invitation][]
  declined: string[]
  requests: [string, JoinRequest][]
  denied: string[]
  deleted: number[]
  edited: [number, number][]
}

/**
 * Events folded between two snapshots of a conversation: one home for the rule, since whoever
 * writes a log the gateways will read (the benchmarks' seeder) must snapshot as they do. A gateway that starts cold (restarted,
 * or taking the sockets of a gateway that died) loads each conversation from its snapshot and
 * folds what follows by gets, one round trip per event: in the chaos run, 24 conversations 200
 * events behind their snapshots made a cold gateway's first syncs take 1–1.6 s, most of a gateway
 * kill's delivery pause. A snapshot costs one KV put, whose size grows with the members; folding
 * costs one get per event. So small conversations snapshot every 32 events (a 1:1 snapshot is
 * a few hundred bytes, ~3 % more JetStream writes than the events themselves) and large groups
 * every 8 events per member, up to 2,000 (beyond 64 events a fold continues through a consumer).
 */
export const snapshotCadence = (members: number): number => Math.min(2_000, Math.max(32, members * 8))

export const toSnapshot = (s: ConversationState): StateSnapshot => ({
  v: 5,
  id: s.id,
  exists: s.exists,
  kind: s.kind,
  title: s.title,
  description: s.description,
  avatar: s.avatar,
  settings: s.settings,
  links: [...s.links],
  members: [...s.members].map(([k, m]) => [k, { ...m }]),
  lastM: s.lastM,
  headM: s.headM,
  lastR: s.lastR,
  n: s.n,
  lastMessage: s.lastMessage,
  recent: s.recent.map(([a, b]) => [a, b]),
  rejected: [...s.rejected],
  invited: [...s.invited].map(([k, i]) => [k, { ...i }]),
  declined: [...s.declined],
  requests: [...s.requests].map(([k, r]) => [k, { ...r }]),
  denied: [...s.denied],
  deleted: [...s.deleted],
  edited: [...s.edited],
})

/**
 * The state a snapshot holds; undefined for another version (the reader then folds from the log).
 * v2 predates invitations, v3 deletes, v4 join requests: their conversations are folded again once.
 */
export const fromSnapshot = (x: { v?: unknown }): ConversationState | undefined => {
  if (x.v !== 5) return undefined
  const s = x as StateSnapshot
  return {
    id: s.id,
    exists: s.exists,
    kind: s.kind,
    title: s.title,
    description: s.description,
    avatar: s.avatar,
    settings: s.settings,
    links: new Map(s.links),
    members: new Map(s.members.map(([k, m]) => [k, { ...m }])),
    lastM: s.lastM,
    headM: s.headM,
    lastR: s.lastR,
    n: s.n,
    lastMessage: s.lastMessage,
    recent: s.recent.map(([a, b]) => [a, b] as [number, number]),
    rejected: new Map(s.rejected),
    invited: new Map(s.invited.map(([k, i]) => [k, { ...i }])),
    declined: new Set(s.declined),
    requests: new Map(s.requests.map(([k, r]) => [k, { ...r }])),
    denied: new Set(s.denied),
    deleted: new Set(s.deleted),
    edited: new Map(s.edited),
  }
}
