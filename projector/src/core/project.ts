import type { ChatEvent, Lane, Role } from '@chatapp/contracts'
import {
  admit,
  afterReceipt,
  DEFAULT_SETTINGS,
  invitationStandings,
  joinRequestStandings,
  type MembershipView,
  receiptEntries,
  successor,
} from '@chatapp/domain'
import type { Change, ConversationRow, InvitationRow, JoinRequestRow, MemberRow } from './rows.js'

/** A pending join request's row: it always names its link. */
export type PendingRequestRow = JoinRequestRow & { state: 'pending'; link: string }

/** The users' standings with a group's invitations and join requests, as the views hold them. */
export interface Standings {
  /** Pending invitations. */
  invited: Map<string, InvitationRow>
  /** Users who declined an invitation to the group. */
  declined: Set<string>
  /** Pending join requests (ADR 0217). */
  requests: Map<string, PendingRequestRow>
  /** Users whose join request was denied. */
  denied: Set<string>
}

/**
 * The fold of one conversation that projecting needs: its row, its active members and its
 * invitation standings (what the domain's `admit` reads). Loaded from the views (or built from
 * `conversation.created`), never shared between conversations, never changed in place: a batch
 * that is rolled back leaves the states it started from intact (state-cache.ts keeps them).
 */
export interface ConvState extends MembershipView {
  readonly exists: true
  row: ConversationRow
  members: Map<string, MemberRow>
  invited: Standings['invited']
  declined: Standings['declined']
  requests: Standings['requests']
  denied: Standings['denied']
}

/**
 * A state from its parts. It is the view `admit` reads as it is (`kind` and `n` copied from the
 * row), so judging an event allocates nothing.
 */
export const convState = (
  row: ConversationRow,
  members: Map<string, MemberRow>,
  st: Standings,
): ConvState => ({
  exists: true,
  kind: row.kind,
  n: row.lastN,
  row,
  members,
  invited: st.invited,
  declined: st.declined,
  requests: st.requests,
  denied: st.denied,
  settings: { editInfo: row.editInfo, sendMessages: row.sendMessages },
  links: new Map(Object.entries(row.links)),
})

/** Where an event sits in the log: its stream sequence and the subject it was stored on. */
export interface LogPosition {
  seq: number
  conversationId: string
  lane: Lane
}

/**
 * Accepted: the state after the event and the view changes it makes. Rejected: the domain's
 * `admit` refuses the event at its place in the log (ADR 0080); it changes no view row.
 */
export type Projected = { ok: true; state: ConvState; changes: Change[] } | { ok: false; reason: string }

const NONE = new Map<string, never>()
const NO_ONE = new Set<string>()

/** What the admission rules see of a conversation the views have never seen. */
const neverSeen = (conversationId: string): MembershipView => ({
  exists: false,
  kind: conversationId.startsWith('d_') ? 'direct' : 'group',
  n: 0,
  members: NONE,
  invited: NONE,
  declined: NO_ONE,
  settings: DEFAULT_SETTINGS,
  links: NONE,
  requests: NONE,
  denied: NO_ONE,
})

/** A working copy of the parts an accepted `.m` event may change; the original stays as it was. */
interface Next extends Standings {
  row: ConversationRow
  members: Map<string, MemberRow>
  changes: Change[]
}

const memberRow = (
  conversationId: string,
  userId: string,
  role: Role,
  seq: number,
  ord: number,
): MemberRow => ({
  conversationId,
  userId,
  role,
  active: true,
  joinedSeq: seq,
  joinOrd: ord,
  leftSeq: null,
})

/** The domain's standings rule, as rows: only standings that change are written. */
const applyStandings = (x: Next, e: ChatEvent, seq: number) => {
  const standings = invitationStandings(e)
  if (standings.length === 0) return
  x.invited = new Map(x.invited)
  x.declined = new Set(x.declined)
  for (const { userId, standing } of standings) {
    const had = x.invited.has(userId) || x.declined.has(userId)
    x.invited.delete(userId)
    x.declined.delete(userId)
    if (standing === 'none') {
      if (had) x.changes.push({ t: 'invitation', conversationId: e.conversationId, userId, row: null })
      continue
    }
    const row: InvitationRow = {
      conversationId: e.conversationId,
      userId,
      state: standing,
      by: e.actor,
      seq,
      at: e.at,
    }
    if (standing === 'invited') x.invited.set(userId, row)
    else x.declined.add(userId)
    x.changes.push({ t: 'invitation', conversationId: e.conversationId, userId, row })
  }
}

/** The domain's join-request rule (ADR 0217), as rows, judged on the state before the event. */
const applyRequestStandings = (x: Next, before: MembershipView, e: ChatEvent, seq: number) => {
  const standings = joinRequestStandings(before, e, seq)
  if (standings.length === 0) return
  x.requests = new Map(x.requests)
  x.denied = new Set(x.denied)
  for (const r of standings) {
    x.requests.delete(r.userId)
    x.denied.delete(r.userId)
    const base = { conversationId: e.conversationId, userId: r.userId, by: e.actor, seq, at: e.at }
    let row: JoinRequestRow | null = null
    if (r.standing === 'pending') {
      const pending: PendingRequestRow = { ...base, state: 'pending', link: r.request.link }
      x.requests.set(r.userId, pending)
      row = pending
    } else if (r.standing === 'denied') {
      x.denied.add(r.userId)
      row = { ...base, state: 'denied', link: null }
    }
    x.changes.push({ t: 'join-request', conversationId: e.conversationId, userId: r.userId, row })
  }
}

/** Members leave or change role: the domain's succession rule then names any new admin. */
const afterLeaveOrRole = (x: Next, userId: string, seq: number, role?: Role) => {
  const m = x.members.get(userId)!
  x.members = new Map(x.members)
  if (role === undefined) {
    x.members.delete(userId)
    x.changes.push({ t: 'member', row: { ...m, active: false, leftSeq: seq } })
  } else {
    const row = { ...m, role }
    x.members.set(userId, row)
    x.changes.push({ t: 'member', row })
  }
  const next = successor(x.row.kind, x.members)
  if (next !== undefined) {
    const row = { ...x.members.get(next)!, role: 'admin' as const }
    x.members.set(next, row)
    x.changes.push({ t: 'member', row })
  }
}

const join = (x: Next, e: ChatEvent, userId: string, role: Role, seq: number) => {
  const row = memberRow(e.conversationId, userId, role, seq, 0)
  x.members = new Map(x.members).set(userId, row)
  x.changes.push({ t: 'member', row })
}

/** The receipts of a `.r` event as watermark patches of current members (others move nothing). */
const receipts = (s: ConvState, e: ChatEvent, seq: number): Change[] => {
  const out: Change[] = []
  for (const r of receiptEntries(e)) {
    const member = s.members.get(r.userId)
    if (!member) continue
    // The views keep the larger of the stored and the new watermark (GREATEST in sql-writer.ts),
    // which is the rule's "never back"; capping and "read implies delivered" are the rule's own.
    const w = afterReceipt({ delivered: 0, read: 0 }, r, seq)
    out.push({ t: 'watermark', patch: { conversationId: e.conversationId, userId: r.userId, ...w }, member })
  }
  return out
}

const created = (e: Extract<ChatEvent, { type: 'conversation.created' }>, seq: number): Next => {
  const members = new Map<string, MemberRow>()
  e.data.members.forEach((m, i) => {
    members.set(m.userId, memberRow(e.conversationId, m.userId, m.role, seq, i))
  })
  const row: ConversationRow = {
    conversationId: e.conversationId,
    kind: e.data.kind,
    title: e.data.title,
    description: null,
    avatar: null,
    editInfo: DEFAULT_SETTINGS.editInfo,
    sendMessages: DEFAULT_SETTINGS.sendMessages,
    links: {},
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
  return {
    row,
    members,
    invited: new Map(),
    declined: new Set(),
    requests: new Map(),
    denied: new Set(),
    changes,
  }
}

/**
 * Folds one event into the views: pure, no I/O. `state` is undefined for a conversation the
 * views have never seen. The event is judged first by the domain's `admit`, the rule every reader
 * of the log applies (ADR 0080): what it refuses is rejected with its reason, changes nothing, and
 * the caller dead-letters it (`EVENT_REJECTED`). The rules themselves (admission, admin
 * succession, receipts, invitation standings) live in the domain; here is only their shape as rows.
 */
export const project = (state: ConvState | undefined, e: ChatEvent, pos: LogPosition): Projected => {
  const reason = admit(state ?? neverSeen(pos.conversationId), e, pos)
  if (reason !== undefined) return { ok: false, reason }
  const seq = pos.seq
  if (pos.lane === 'r') {
    // A hide concerns its author's reads only (ADR 0212): kept whoever they are now.
    if (e.type === 'message.hidden')
      return {
        ok: true,
        state: state!,
        changes: [{ t: 'hide', conversationId: e.conversationId, userId: e.actor, seq: e.data.seq }],
      }
    return { ok: true, state: state!, changes: receipts(state!, e, seq) }
  }
  // Admitted on lane m: a creation has no state yet, every other event has one.
  let x: Next
  if (e.type === 'conversation.created') x = created(e, seq)
  else {
    const s = state!
    const row = { ...s.row, lastSeq: seq, lastAt: e.at }
    // The row is final when returned (memberCount below): the change holds the same object.
    x = {
      row,
      members: s.members,
      invited: s.invited,
      declined: s.declined,
      requests: s.requests,
      denied: s.denied,
      changes: [{ t: 'conversation', row }],
    }
  }
  switch (e.type) {
    case 'conversation.renamed':
      x.row.title = e.data.title
      break
    case 'conversation.profile_changed':
      if (e.data.description !== undefined) x.row.description = e.data.description
      if (e.data.avatar !== undefined) x.row.avatar = e.data.avatar
      // Members may download the avatar like a media shared by a message (ADR 0152).
      if (e.data.avatar)
        x.changes.push({
          t: 'media',
          patch: {
            conversationId: e.conversationId,
            mediaId: e.data.avatar.mediaId,
            state: 'pending',
            seq,
            sharedSeq: seq,
            ref: e.data.avatar,
          },
        })
      break
    case 'conversation.link_created':
      x.row.links = {
        ...x.row.links,
        [e.data.linkId]: {
          hash: e.data.hash,
          by: e.actor,
          seq,
          ...(e.data.approval ? { approval: true } : {}),
        },
      }
      break
    case 'conversation.link_revoked': {
      const { [e.data.linkId]: _gone, ...rest } = x.row.links
      x.row.links = rest
      break
    }
    case 'conversation.settings_changed':
      if (e.data.editInfo !== undefined) x.row.editInfo = e.data.editInfo
      if (e.data.sendMessages !== undefined) x.row.sendMessages = e.data.sendMessages
      break
    case 'member.added':
      join(x, e, e.data.userId, e.data.role, seq)
      break
    case 'member.joined':
      // An invitee who accepted, a user with a link, or one an admin approved: a member from here
      // on, like one an admin added.
      join(x, e, e.data.userId, 'member', seq)
      break
    case 'member.removed':
    case 'member.left':
      afterLeaveOrRole(x, e.data.userId, seq)
      break
    case 'member.role_changed':
      afterLeaveOrRole(x, e.data.userId, seq, e.data.role)
      break
    case 'message.sent':
      x.row.lastMsgSeq = seq
      x.row.lastN = e.data.n
      x.changes.push({
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
          replyTo: e.data.replyTo ?? null,
          forwarded: e.data.forwarded?.count ?? null,
          mentions: e.data.mentions ?? null,
          editedAt: null,
          deletedAt: null,
          deletedBy: null,
        },
      })
      // Sending is reading (the domain's fold does the same): the sender has their own message.
      // An admitted sender is a member; were one not, their watermark would move nothing, as a receipt's.
      if (x.members.has(e.actor))
        x.changes.push({
          t: 'watermark',
          patch: { conversationId: e.conversationId, userId: e.actor, delivered: seq, read: seq },
          member: x.members.get(e.actor)!,
        })
      if (e.data.media)
        x.changes.push({
          t: 'media',
          patch: {
            conversationId: e.conversationId,
            mediaId: e.data.media.mediaId,
            state: 'pending',
            seq,
            sharedSeq: seq,
            ref: e.data.media,
          },
        })
      break
    case 'message.edited':
      x.changes.push({
        t: 'message-patch',
        patch: {
          kind: 'edit',
          conversationId: e.conversationId,
          seq: e.data.seq,
          text: e.data.text,
          at: e.at,
        },
      })
      break
    case 'message.deleted':
      x.changes.push({
        t: 'message-patch',
        patch: { kind: 'delete', conversationId: e.conversationId, seq: e.data.seq, by: e.actor, at: e.at },
      })
      if (e.data.mediaId)
        x.changes.push({
          t: 'media',
          patch: { conversationId: e.conversationId, mediaId: e.data.mediaId, state: 'deleted', seq },
        })
      break
    case 'message.reacted':
      x.changes.push({
        t: 'reaction',
        row: {
          conversationId: e.conversationId,
          seq: e.data.seq,
          userId: e.actor,
          emoji: e.data.emoji,
          at: e.at,
        },
      })
      break
    case 'media.ready': {
      const { mediaId, variants, width, height, durationMs, placeholder, waveform } = e.data
      x.changes.push({
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
      })
      break
    }
    case 'media.failed':
      x.changes.push({
        t: 'media',
        patch: {
          conversationId: e.conversationId,
          mediaId: e.data.mediaId,
          state: 'failed',
          seq,
          failureCode: e.data.code,
          failureReason: e.data.reason,
        },
      })
      break
    default:
      // conversation.created (built above), member.invited and member.invite_cancelled, and the
      // join requests (standings, below) change nothing else; receipts never reach lane m (admit).
      break
  }
  applyStandings(x, e, seq)
  applyRequestStandings(x, state ?? neverSeen(pos.conversationId), e, seq)
  x.row.memberCount = x.members.size
  return { ok: true, state: convState(x.row, x.members, x), changes: x.changes }
}
