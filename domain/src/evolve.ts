import type { ChatEvent, Lane } from '@chatapp/contracts'
import { admit } from './admit.js'
import { joinRequestStandings } from './join-requests.js'
import { successor } from './membership.js'
import { afterReceipt, receiptEntries } from './receipts.js'
import { invitationStandings } from './standing.js'
import { type ConversationState, MAX_PENDING_MENTIONS, nAt, RECENT_MESSAGES } from './state.js'

/** A stored event as a reader meets it: its sequence, the lane of its subject, the event. */
export interface Stored {
  seq: number
  lane: Lane
  event: ChatEvent
}

/**
 * What folding an event did: `accepted` (it is part of the conversation), `rejected` (the log's
 * rules refuse it at its place: every reader skips it), or `stale` (at or below what the lane has
 * folded already: a second delivery, changes nothing).
 */
export type Verdict = { kind: 'accepted' } | { kind: 'rejected'; reason: string } | { kind: 'stale' }

const ACCEPTED: Verdict = { kind: 'accepted' }
const STALE: Verdict = { kind: 'stale' }

const addMember = (
  s: ConversationState,
  userId: string,
  role: 'admin' | 'member',
  seq: number,
  ord: number,
) => {
  s.members.set(userId, {
    role,
    joinedSeq: seq,
    joinOrd: ord,
    delivered: 0,
    read: 0,
    // Messages from before they joined are not unread for them.
    readN: s.n,
    firstSent: 0,
    mentions: [],
  })
}

const promoteSuccessor = (s: ConversationState) => {
  const next = successor(s.kind, s.members)
  if (next) s.members.get(next)!.role = 'admin'
}

const applyReceipts = (s: ConversationState, e: ChatEvent, seq: number) => {
  for (const r of receiptEntries(e)) {
    const m = s.members.get(r.userId)
    if (!m) continue
    const w = afterReceipt(m, r, seq)
    if (w.read > m.read) {
      const n = nAt(s, w.read)
      // The read point is the later of the watermark and the join: a watermark at or before the
      // join leaves what the join gave; one before the window of recent messages is unknown here.
      if (n !== undefined) m.readN = Math.max(m.readN, n)
      else if (w.read > m.joinedSeq) m.readN = -1
    }
    m.delivered = w.delivered
    m.read = w.read
    if (m.mentions.length > 0 && m.mentions[0]! <= m.read) m.mentions = m.mentions.filter((x) => x > m.read)
  }
}

/**
 * Folds one stored event into the state, judging it with `admit` first. It MUTATES `s` (a
 * 1,024-member group receives many receipts; copying its member map per event would cost more
 * than the append). Lanes fold independently and each must be fed contiguously, in log order.
 */
export const evolve = (s: ConversationState, x: Stored): Verdict => {
  const { seq, lane, event: e } = x
  if (lane === 'm' ? seq <= s.lastM : seq <= s.lastR) return STALE
  const reason = admit(s, e, { conversationId: s.id, lane })
  if (lane === 'r') {
    s.lastR = seq
    if (reason !== undefined) return { kind: 'rejected', reason }
    applyReceipts(s, e, seq)
    return ACCEPTED
  }
  s.lastM = seq
  if (reason !== undefined) {
    s.rejected.set(seq, s.headM)
    return { kind: 'rejected', reason }
  }
  s.headM = seq
  // Read before the switch below changes the state the rule reads (members, requests).
  for (const r of joinRequestStandings(s, e, seq)) {
    s.requests.delete(r.userId)
    s.denied.delete(r.userId)
    if (r.standing === 'pending') s.requests.set(r.userId, r.request)
    else if (r.standing === 'denied') s.denied.add(r.userId)
  }
  // A member is never also invited; joining after a decline lifts it (invitationStandings).
  for (const { userId, standing } of invitationStandings(e)) {
    s.invited.delete(userId)
    s.declined.delete(userId)
    if (standing === 'invited') s.invited.set(userId, { by: e.actor, seq, at: e.at })
    else if (standing === 'declined') s.declined.add(userId)
  }
  switch (e.type) {
    case 'conversation.created':
      s.exists = true
      s.kind = e.data.kind
      s.title = e.data.title
      e.data.members.forEach((m, i) => {
        addMember(s, m.userId, m.role, seq, i)
      })
      break
    case 'conversation.renamed':
      s.title = e.data.title
      break
    case 'conversation.profile_changed':
      if (e.data.description !== undefined) s.description = e.data.description
      if (e.data.avatar !== undefined) s.avatar = e.data.avatar
      break
    case 'conversation.link_created':
      s.links.set(e.data.linkId, {
        hash: e.data.hash,
        by: e.actor,
        seq,
        ...(e.data.approval ? { approval: true as const } : {}),
      })
      break
    case 'conversation.link_revoked':
      s.links.delete(e.data.linkId)
      break
    case 'conversation.settings_changed':
      s.settings = { ...s.settings, ...e.data }
      break
    case 'member.added':
      addMember(s, e.data.userId, e.data.role, seq, 0)
      break
    case 'member.joined':
      addMember(s, e.data.userId, 'member', seq, 0)
      break
    case 'member.removed':
    case 'member.left':
      s.members.delete(e.data.userId)
      promoteSuccessor(s)
      break
    case 'member.role_changed':
      s.members.get(e.data.userId)!.role = e.data.role
      promoteSuccessor(s)
      break
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
      const sender = s.members.get(e.actor)!
      if (sender.firstSent === 0) sender.firstSent = seq
      sender.delivered = Math.max(sender.delivered, seq)
      sender.read = Math.max(sender.read, seq)
      sender.readN = e.data.n
      sender.mentions = []
      for (const u of e.data.mentions ?? []) {
        const m = s.members.get(u)!
        if (m.mentions.length < MAX_PENDING_MENTIONS) m.mentions.push(seq)
      }
      break
    }
    case 'message.edited': {
      // An edit that raced a delete for everyone changes nothing: the tombstone stays.
      if (s.deleted.has(e.data.seq)) break
      s.edited.set(e.data.seq, seq)
      const last = s.lastMessage
      if (last && last.seq === e.data.seq) {
        last.text = e.data.text
        last.edited = true
      }
      break
    }
    case 'message.deleted': {
      s.deleted.add(e.data.seq)
      s.edited.delete(e.data.seq)
      // A deleted message mentions nobody any more.
      for (const m of s.members.values())
        if (m.mentions.includes(e.data.seq)) m.mentions = m.mentions.filter((x) => x !== e.data.seq)
      const last = s.lastMessage
      if (last && last.seq === e.data.seq)
        s.lastMessage = {
          seq: last.seq,
          n: last.n,
          senderId: last.senderId,
          kind: last.kind,
          at: last.at,
          deleted: true,
        }
      break
    }
    default:
      // Invitations and join requests changed nothing but standings (above); media.ready / media.failed and
      // reactions change no conversation state; receipts and hides never reach lane m.
      break
  }
  return ACCEPTED
}
