import { type ChatEvent, type Lane, laneOf } from '@chatapp/contracts'
import type { MembershipView } from './membership.js'

/** Where an event sits in the log: the conversation and lane of the subject it was stored on. */
export interface Placement {
  conversationId: string
  lane: Lane
}

const isAdmin = (v: MembershipView, userId: string) => v.members.get(userId)?.role === 'admin'

/**
 * Whether the log's rules accept `e` at its place, given the state folded from every accepted
 * event before it. Undefined when accepted; otherwise the reason it is rejected.
 *
 * Why on read: a writer checks the same rules in `decide` and appends with the subject-sequence
 * expectation, but that expectation is checked on the stream leader only and is not serialisable
 * across a leader change (nats-server issues 4320, 8469), so two writers can both append on the
 * same predecessor. Every reader (gateway fold, projector, reactors) therefore judges each event
 * again, in log order, with these rules: an event that raced past a change that forbids it
 * (a message from a member removed just before, a second message numbered `n` like the one
 * before it) is rejected by all of them alike, and its writer, which waits for the verdict before
 * answering, never reports it as sent (ADR 0080). Only log-intrinsic facts are read: limits that
 * an operator may change (text length, group size) are the writer's, never the reader's.
 */
export const admit = (v: MembershipView, e: ChatEvent, at: Placement): string | undefined => {
  if (e.conversationId !== at.conversationId)
    return `names ${e.conversationId} but is stored under ${at.conversationId}`
  if (laneOf(e.type) !== at.lane) return `${e.type} stored on lane ${at.lane}`
  if (e.type === 'conversation.created') {
    if (v.exists) return 'the conversation already exists'
    const direct = e.data.kind === 'direct'
    if (!e.conversationId.startsWith(direct ? 'd_' : 'c_'))
      return `a ${e.data.kind} conversation cannot have the id ${e.conversationId}`
    const ids = new Set(e.data.members.map((m) => m.userId))
    if (ids.size !== e.data.members.length) return 'a member is listed twice'
    if (e.data.members.find((m) => m.userId === e.actor)?.role !== 'admin')
      return 'the creator is not an admin among the members'
    if (direct && (ids.size !== 2 || e.data.members.some((m) => m.role !== 'admin')))
      return 'a direct conversation has exactly two admins'
    const invited = e.data.invited ?? []
    if (direct && invited.length > 0) return 'a direct conversation has no invitations'
    if (new Set(invited).size !== invited.length || invited.some((u) => ids.has(u)))
      return 'a user is invited twice, or both invited and a member'
    return undefined
  }
  if (!v.exists) return `${e.type} before the conversation was created`
  if (e.type === 'media.ready' || e.type === 'media.failed' || e.type === 'receipt.batch')
    return e.actor === 'system' ? undefined : `${e.type} is written by the system`
  if (e.actor === 'system') return `${e.type} needs a user as actor`
  switch (e.type) {
    case 'receipt.delivered':
    case 'receipt.read':
    case 'message.hidden':
      // Appended without an expectation; a receipt of someone who has just left moves nothing,
      // and a hide concerns only its author's own reads.
      return undefined
    case 'message.sent': {
      const m = v.members.get(e.actor)
      if (!m) return `${e.actor} is not a member`
      if (v.kind === 'group' && v.settings.sendMessages === 'admins' && m.role !== 'admin')
        return `only admins send in this group`
      if (e.data.n !== v.n + 1) return `numbered ${e.data.n} where ${v.n + 1} comes next`
      if (e.data.replyTo && e.data.replyTo.seq <= m.joinedSeq)
        return 'quotes a message from before the sender joined'
      const mentions = e.data.mentions ?? []
      if (mentions.length > 0 && v.kind !== 'group') return 'mentions are for groups'
      // Who is mentioned counts it as unread: a member at this place in the log, never the sender.
      if (mentions.some((u) => u === e.actor || !v.members.has(u)))
        return 'mentions someone who is not another member'
      return undefined
    }
    case 'message.edited':
    case 'message.reacted': {
      // The target's fixed facts (its sender: who may edit) are the writer's, read from the log;
      // what a race can change is judged here: membership, and seeing the message (ADR 0211).
      const m = v.members.get(e.actor)
      if (!m) return `${e.actor} is not a member`
      return e.data.seq <= m.joinedSeq ? `${e.actor} cannot see message ${e.data.seq}` : undefined
    }
    case 'message.deleted': {
      const m = v.members.get(e.actor)
      if (!m) return `${e.actor} is not a member`
      if (e.data.seq <= m.joinedSeq) return `${e.actor} cannot see message ${e.data.seq}`
      // A direct conversation's two admins are peers: only a group admin deletes others' messages.
      if (e.data.senderId !== e.actor && !(v.kind === 'group' && m.role === 'admin'))
        return `${e.actor} is neither the sender nor a group admin`
      return undefined
    }
    case 'member.joined': {
      const u = e.data.userId
      if (e.data.link === undefined) {
        if (u !== e.actor) return 'a user joins on their own behalf'
        return v.invited.has(u) ? undefined : `${u} has no pending invitation`
      }
      if (u !== e.actor) {
        // An approval (ADR 0217): an admin at this place answers a request still pending, through
        // this link. A request ends with its link's revocation, so a racing approval finds none.
        if (!isAdmin(v, e.actor)) return `${e.actor} is not an admin`
        return v.requests.get(u)?.link === e.data.link
          ? undefined
          : `${u} has no pending request by this link`
      }
      // A link revoked before this join (a race) lets nobody in at this place. Only a group has
      // links (`conversation.link_created` is admitted in groups alone).
      const link = v.links.get(e.data.link)
      if (!link) return `link ${e.data.link} is not live`
      if (link.approval) return `link ${e.data.link} needs an admin's approval`
      return v.members.has(u) ? `${u} is already a member` : undefined
    }
    case 'member.join_requested': {
      if (e.data.userId !== e.actor) return 'a user asks to join on their own behalf'
      if (!v.links.get(e.data.link)?.approval) return `link ${e.data.link} is not live or admits directly`
      if (v.members.has(e.actor)) return `${e.actor} is already a member`
      if (v.requests.has(e.actor)) return `${e.actor} has asked already`
      return v.denied.has(e.actor) ? `${e.actor} was denied` : undefined
    }
    case 'member.join_denied':
    case 'member.join_cancelled':
      if (!v.requests.has(e.data.userId)) return `${e.data.userId} has no pending request`
      if (e.type === 'member.join_cancelled')
        return e.actor === e.data.userId ? undefined : 'a request is withdrawn by its requester'
      return isAdmin(v, e.actor) ? undefined : `${e.actor} is not an admin`
    case 'conversation.link_created':
    case 'conversation.link_revoked': {
      if (v.kind !== 'group') return `${e.type} applies to groups`
      if (!isAdmin(v, e.actor)) return `${e.actor} is not an admin`
      const live = v.links.has(e.data.linkId)
      if (e.type === 'conversation.link_created') return live ? `link ${e.data.linkId} exists` : undefined
      return live ? undefined : `link ${e.data.linkId} is not live`
    }
    case 'member.invite_cancelled':
      if (!v.invited.has(e.data.userId)) return `${e.data.userId} has no pending invitation`
      // Declined by the invitee, or withdrawn by an admin.
      return e.actor === e.data.userId || isAdmin(v, e.actor) ? undefined : `${e.actor} is not an admin`
    case 'member.left':
      if (v.kind !== 'group') return 'only a group member can leave'
      if (e.data.userId !== e.actor) return 'a member leaves on their own behalf'
      return v.members.has(e.actor) ? undefined : `${e.actor} is not a member`
    case 'conversation.renamed':
    case 'conversation.profile_changed': {
      if (v.kind !== 'group') return `${e.type} applies to groups`
      if (!v.members.has(e.actor)) return `${e.actor} is not a member`
      return isAdmin(v, e.actor) || v.settings.editInfo === 'everyone'
        ? undefined
        : `${e.actor} is not an admin`
    }
    case 'conversation.settings_changed':
    case 'member.added':
    case 'member.invited':
    case 'member.removed':
    case 'member.role_changed': {
      if (v.kind !== 'group') return `${e.type} applies to groups`
      if (!isAdmin(v, e.actor)) return `${e.actor} is not an admin`
      if (e.type === 'conversation.settings_changed') return undefined
      const target = v.members.has(e.data.userId)
      if (e.type === 'member.added') return target ? `${e.data.userId} is already a member` : undefined
      if (e.type === 'member.invited') {
        if (target) return `${e.data.userId} is already a member`
        if (v.invited.has(e.data.userId)) return `${e.data.userId} is already invited`
        // Whether the user's setting asked for an invitation is the writer's to judge (it is not
        // in the log); that a decline is final is the log's.
        return v.declined.has(e.data.userId) ? `${e.data.userId} declined an invitation` : undefined
      }
      return target ? undefined : `${e.data.userId} is not a member`
    }
    default: {
      const never: never = e
      return `unknown event ${(never as ChatEvent).type}`
    }
  }
}
