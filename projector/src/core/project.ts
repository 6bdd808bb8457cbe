import { type ChatEvent, type Lane, laneOf, type Role } from '@chatapp/contracts'
import type { Change, ConversationRow, MemberRow } from './rows.js'

/**
 * The fold of one conversation that projecting needs: its row and its active members. Loaded
 * from the views (or built from `conversation.created`), never shared between conversations.
 */
export interface ConvState {
  row: ConversationRow
  members: Map<string, MemberRow>
}

/** Where an event sits in the log: its stream sequence and the subject it was stored on. */
export interface LogPosition {
  seq: number
  conversationId: string
  lane: Lane
}

export type Projected = { ok: true; state: ConvState; changes: Change[] } | { ok: false; reason: string }

const fail = (reason: string): Projected => ({ ok: false, reason })

const withRow = (s: ConvState, patch: Partial<ConversationRow>): ConvState => ({
  row: { ...s.row, ...patch, memberCount: s.members.size },
  members: s.members,
})

const conversationChange = (s: ConvState): Change => ({ t: 'conversation', row: s.row })

/** "Last admin leaves → the longest-standing remaining member becomes admin": a rule of the fold. */
const promoteIfNoAdmin = (members: Map<string, MemberRow>): MemberRow | undefined => {
  let oldest: MemberRow | undefined
  for (const m of members.values()) {
    if (m.role === 'admin') return undefined
    if (
      !oldest ||
      m.joinedSeq < oldest.joinedSeq ||
      (m.joinedSeq === oldest.joinedSeq && m.joinOrd < oldest.joinOrd)
    )
      oldest = m
  }
  return oldest ? { ...oldest, role: 'admin' } : undefined
}

const leave = (s: ConvState, userId: string, seq: number, at: number, promote: boolean): Projected => {
  const m = s.members.get(userId)
  if (!m) return fail(`${userId} is not a member`)
  const members = new Map(s.members)
  members.delete(userId)
  const changes: Change[] = [{ t: 'member', row: { ...m, active: false, leftSeq: seq } }]
  const promoted = promote ? promoteIfNoAdmin(members) : undefined
  if (promoted) {
    members.set(promoted.userId, promoted)
    changes.push({ t: 'member', row: promoted })
  }
  const state = withRow({ row: s.row, members }, { lastSeq: seq, lastAt: at })
  return { ok: true, state, changes: [conversationChange(state), ...changes] }
}

const join = (s: ConvState, e: ChatEvent, userId: string, role: Role, seq: number): Projected => {
  if (s.members.has(userId)) return fail(`${userId} is already a member`)
  const row: MemberRow = {
    conversationId: e.conversationId,
    userId,
    role,
    active: true,
    joinedSeq: seq,
    joinOrd: 0,
    leftSeq: null,
  }
  const next = withRow(
    { row: s.row, members: new Map(s.members).set(row.userId, row) },
    { lastSeq: seq, lastAt: e.at },
  )
  return { ok: true, state: next, changes: [conversationChange(next), { t: 'member', row }] }
}

/** An event that moves the conversation's position and nothing else a view holds. */
const touch = (s: ConvState, seq: number, at: number): Projected => {
  const next = withRow(s, { lastSeq: seq, lastAt: at })
  return { ok: true, state: next, changes: [conversationChange(next)] }
}

const setRole = (s: ConvState, userId: string, role: Role, seq: number, at: number): Projected => {
  const m = s.members.get(userId)
  if (!m) return fail(`${userId} is not a member`)
  const row = { ...m, role }
  const state = withRow(
    { row: s.row, members: new Map(s.members).set(userId, row) },
    { lastSeq: seq, lastAt: at },
  )
  return { ok: true, state, changes: [conversationChange(state), { t: 'member', row }] }
}

/**
 * Folds one event into the views: pure, no I/O. `state` is undefined for a conversation the
 * views have never seen. An event that breaks an invariant (wrong subject or lane, unknown
 * conversation, a second creation, a non-member) is refused with a reason, and the caller
 * dead-letters it: the log is still the truth, but a view cannot apply what it cannot explain.
 */
export const project = (state: ConvState | undefined, e: ChatEvent, pos: LogPosition): Projected => {
  if (e.conversationId !== pos.conversationId)
    return fail(`event names ${e.conversationId} but was stored under ${pos.conversationId}`)
  if (laneOf(e.type) !== pos.lane) return fail(`${e.type} stored on lane ${pos.lane}`)
  const seq = pos.seq
  if (e.type === 'conversation.created') {
    if (state) return fail('conversation already created')
    const kindOk = e.conversationId.startsWith(e.data.kind === 'direct' ? 'd_' : 'c_')
    if (!kindOk) return fail(`a ${e.data.kind} conversation id cannot be ${e.conversationId}`)
    const members = new Map<string, MemberRow>()
    e.data.members.forEach((m, i) => {
      members.set(m.userId, {
        conversationId: e.conversationId,
        userId: m.userId,
        role: m.role,
        active: true,
        joinedSeq: seq,
        joinOrd: i,
        leftSeq: null,
      })
    })
    const row: ConversationRow = {
      conversationId: e.conversationId,
      kind: e.data.kind,
      title: e.data.title,
      createdSeq: seq,
      createdAt: e.at,
      lastSeq: seq,
      lastAt: e.at,
      lastMsgSeq: null,
      lastN: 0,
      memberCount: members.size,
    }
    const changes: Change[] = [{ t: 'conversation', row }]
    for (const m of members.values()) changes.push({ t: 'member', row: m })
    return { ok: true, state: { row, members }, changes }
  }
  if (!state) return fail(`${e.type} for a conversation that was never created`)
  switch (e.type) {
    case 'conversation.renamed': {
      const next = withRow(state, { title: e.data.title, lastSeq: seq, lastAt: e.at })
      return { ok: true, state: next, changes: [conversationChange(next)] }
    }
    case 'member.added':
      return join(state, e, e.data.userId, e.data.role, seq)
    case 'member.joined':
      // An invitee who accepted: a member from here on, like one an admin added. Invitations
      // themselves have no view (the gateway lists them from the log, ADR 0140).
      return join(state, e, e.data.userId, 'member', seq)
    case 'member.invited':
    case 'member.invite_cancelled':
      return touch(state, seq, e.at)
    case 'member.removed':
      return leave(state, e.data.userId, seq, e.at, false)
    case 'member.left':
      return leave(state, e.data.userId, seq, e.at, true)
    case 'member.role_changed':
      return setRole(state, e.data.userId, e.data.role, seq, e.at)
    case 'message.sent': {
      if (e.actor === 'system' || !state.members.has(e.actor)) return fail(`${e.actor} is not a member`)
      const next = withRow(state, { lastSeq: seq, lastAt: e.at, lastMsgSeq: seq, lastN: e.data.n })
      const changes: Change[] = [
        conversationChange(next),
        {
          t: 'message',
          row: {
            conversationId: e.conversationId,
            seq,
            n: e.data.n,
            senderId: e.actor,
            deviceId: e.data.deviceId,
            clientMsgId: e.data.clientMsgId,
            kind: e.data.kind,
            text: e.data.text ?? null,
            mediaId: e.data.media?.mediaId ?? null,
            media: e.data.media ?? null,
            at: e.at,
          },
        },
        // The sender has their own message: it counts as delivered to and read by them.
        {
          t: 'watermark',
          patch: { conversationId: e.conversationId, userId: e.actor, delivered: seq, read: seq },
        },
      ]
      if (e.data.media)
        changes.push({
          t: 'media',
          patch: {
            conversationId: e.conversationId,
            mediaId: e.data.media.mediaId,
            state: 'pending',
            seq,
            ref: e.data.media,
          },
        })
      return { ok: true, state: next, changes }
    }
    case 'media.ready': {
      const { mediaId, variants, width, height, durationMs, placeholder, waveform } = e.data
      const next = withRow(state, { lastSeq: seq, lastAt: e.at })
      return {
        ok: true,
        state: next,
        changes: [
          conversationChange(next),
          {
            t: 'media',
            patch: {
              conversationId: e.conversationId,
              mediaId,
              state: 'ready',
              seq,
              variants,
              ...(width !== undefined ? { width } : {}),
              ...(height !== undefined ? { height } : {}),
              ...(durationMs !== undefined ? { durationMs } : {}),
              ...(placeholder !== undefined ? { placeholder } : {}),
              ...(waveform !== undefined ? { waveform } : {}),
            },
          },
        ],
      }
    }
    case 'media.failed': {
      const next = withRow(state, { lastSeq: seq, lastAt: e.at })
      return {
        ok: true,
        state: next,
        changes: [
          conversationChange(next),
          {
            t: 'media',
            patch: {
              conversationId: e.conversationId,
              mediaId: e.data.mediaId,
              state: 'failed',
              seq,
              failureCode: e.data.code,
              failureReason: e.data.reason,
            },
          },
        ],
      }
    }
    case 'receipt.delivered':
    case 'receipt.read': {
      // A receipt from someone who has just left is not poison (receipts are appended without the
      // membership check of the message lane): it moves nothing, since only members have rows
      // that a watermark update touches.
      if (e.actor === 'system') return fail('a receipt needs a user actor')
      // A receipt can only acknowledge what was in the log before it: capping at its own sequence
      // keeps a bogus `upTo` from marking future messages delivered or read.
      const upTo = Math.min(e.data.upTo, seq)
      const read = e.type === 'receipt.read' ? upTo : 0
      return {
        ok: true,
        state,
        changes: [
          {
            t: 'watermark',
            patch: {
              conversationId: e.conversationId,
              userId: e.actor,
              // Reading implies having received.
              delivered: upTo,
              read,
            },
          },
        ],
      }
    }
    case 'receipt.batch': {
      // The gateway's batch of group receipts (ADR 0070): the same watermark changes as the
      // equivalent single receipts, with the same cap at the batch's own sequence.
      if (e.actor !== 'system') return fail('a receipt batch is written by the system')
      const mark = (userId: string, upTo: number, read: boolean): Change => {
        const capped = Math.min(upTo, seq)
        return {
          t: 'watermark',
          patch: { conversationId: e.conversationId, userId, delivered: capped, read: read ? capped : 0 },
        }
      }
      return {
        ok: true,
        state,
        changes: [
          ...e.data.delivered.map((x) => mark(x.userId, x.upTo, false)),
          ...e.data.read.map((x) => mark(x.userId, x.upTo, true)),
        ],
      }
    }
    default: {
      const never: never = e
      return fail(`unhandled event ${(never as { type: string }).type}`)
    }
  }
}
