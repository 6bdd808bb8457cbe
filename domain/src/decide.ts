import type { ChatEvent, ErrorCode, EventData, MediaRef, MessageKind } from '@chatapp/contracts'
import { decideMessage, type MessageCommand, type MessageLimits } from './decide-message.js'
import type { Stored } from './evolve.js'
import { type ForwardSource, forwardedContent } from './forward.js'
import { decideProfile } from './group-profile.js'
import { decideLink, type LinkCommand } from './invite-links.js'
import { decideJoin, type JoinCommand } from './join-requests.js'
import { replyRef, targetMessage } from './message-target.js'
import { type ConversationState, lastSeq } from './state.js'

/**
 * Commands on one conversation, after the shell resolved what needs I/O: which users exist
 * (`known`) and which media the sender may attach (`media`).
 */
export type Command =
  | { type: 'direct.open'; actor: string; peerId: string; known: ReadonlySet<string> }
  | {
      type: 'group.create'
      actor: string
      title: string
      memberIds: string[]
      known: ReadonlySet<string>
      /** Who the actor may add directly (their setting allows it); other known users are invited. */
      addable: ReadonlySet<string>
      /** The id derives from the actor and a client id: an existing group is this create's own. */
      idempotent?: boolean
    }
  | {
      type: 'group.add'
      actor: string
      userId: string
      known: ReadonlySet<string>
      addable: ReadonlySet<string>
    }
  | { type: 'group.remove'; actor: string; userId: string }
  | { type: 'group.invite.accept'; actor: string }
  | { type: 'group.invite.decline'; actor: string }
  | { type: 'group.promote'; actor: string; userId: string }
  | { type: 'group.demote'; actor: string; userId: string }
  | { type: 'group.leave'; actor: string }
  | { type: 'group.rename'; actor: string; title: string }
  | {
      type: 'group.profile'
      actor: string
      description?: string | null | undefined
      /** The avatar asked for: a media id (with what MediaPort.forAttach answered), or null. */
      avatarMediaId?: string | null | undefined
      avatar?: MediaRef | undefined
    }
  | LinkCommand
  | JoinCommand
  | {
      type: 'group.settings'
      actor: string
      editInfo?: 'admins' | 'everyone'
      sendMessages?: 'admins' | 'everyone'
    }
  | {
      type: 'send'
      actor: string
      deviceId: string
      clientMsgId: string
      kind: MessageKind
      text?: string | undefined
      mediaId?: string | undefined
      /** What MediaPort.forAttach answered for `mediaId`. */
      media?: MediaRef | undefined
      /** The `seq` of the message this one replies to, and what the log holds there. */
      replyTo?: number | undefined
      quoted?: Stored | undefined
      /** A forward: the source message as the actor may see it (`forwardSource`), or why not. */
      forward?: ForwardSource | undefined
      /** Users the message mentions (groups). */
      mentions?: string[] | undefined
    }
  | MessageCommand
  | { type: 'receipt'; actor: string; kind: 'delivered' | 'read'; upTo: number }

export interface DecideContext {
  now: number
  /** A fresh unique id (event ids). */
  newId(): string
  limits: MessageLimits & { maxGroupMembers: number; maxInviteLinks?: number; maxJoinRequests?: number }
}

export type Decision = { ok: true; events: ChatEvent[] } | { ok: false; code: ErrorCode; message?: string }

const refuse = (code: ErrorCode, message?: string): Decision =>
  message === undefined ? { ok: false, code } : { ok: false, code, message }
const none: Decision = { ok: true, events: [] }

/** A `message.sent` of a send command with its content, numbered next, with its deterministic id. */
const sentEvent = (
  make: (data: EventData<'message.sent'>) => ChatEvent,
  s: ConversationState,
  c: { actor: string; clientMsgId: string; deviceId: string },
  content: Omit<EventData<'message.sent'>, 'clientMsgId' | 'deviceId' | 'n'>,
): ChatEvent => {
  const e = make({ clientMsgId: c.clientMsgId, deviceId: c.deviceId, n: s.n + 1, ...content })
  e.id = messageEventId(s.id, c.actor, c.clientMsgId)
  return e
}

/** The deterministic event id of a message: views and clients de-duplicate by it. */
export const messageEventId = (conversationId: string, senderId: string, clientMsgId: string): string =>
  `${conversationId}:${senderId}:${clientMsgId}`

/**
 * Whether a command is allowed on the state, and which events it yields. Pure: time and ids
 * come from `ctx`. An empty event list means "already so" (idempotent success). Everything it
 * allows, `admit` accepts on the same state (a test holds the two together); it adds the
 * writer's own limits (text length, group size, known users), which readers never re-check.
 */
export const decide = (s: ConversationState, c: Command, ctx: DecideContext): Decision => {
  const base = <T extends ChatEvent['type']>(type: T, data: Extract<ChatEvent, { type: T }>['data']) =>
    ({ v: 1, type, id: ctx.newId(), conversationId: s.id, actor: c.actor, at: ctx.now, data }) as Extract<
      ChatEvent,
      { type: T }
    >
  const one = (e: ChatEvent): Decision => ({ ok: true, events: [e] })

  if (c.type === 'direct.open') {
    if (c.peerId === c.actor) return refuse('SELF_CONVERSATION')
    if (!c.known.has(c.peerId)) return refuse('USER_NOT_FOUND')
    if (s.exists) return s.members.has(c.actor) ? none : refuse('NOT_A_MEMBER')
    return one(
      base('conversation.created', {
        kind: 'direct',
        title: null,
        members: [
          { userId: c.actor, role: 'admin' },
          { userId: c.peerId, role: 'admin' },
        ],
      }),
    )
  }
  if (c.type === 'group.create') {
    // A retried create finds its own group: the id is a hash of the actor and the client's id.
    if (s.exists) return c.idempotent ? none : refuse('INTERNAL', 'conversation id collision')
    const others = [...new Set(c.memberIds)].filter((u) => u !== c.actor)
    if (others.length + 1 > ctx.limits.maxGroupMembers) return refuse('GROUP_FULL')
    const unknown = others.filter((u) => !c.known.has(u))
    if (unknown.length > 0)
      return refuse('USER_NOT_FOUND', `unknown users: ${unknown.slice(0, 5).join(', ')}`)
    const invited = others.filter((u) => !c.addable.has(u))
    return one(
      base('conversation.created', {
        kind: 'group',
        title: c.title,
        members: [
          { userId: c.actor, role: 'admin' },
          ...others.filter((u) => c.addable.has(u)).map((userId) => ({ userId, role: 'member' as const })),
        ],
        ...(invited.length > 0 ? { invited } : {}),
      }),
    )
  }
  // An invitee is not a member yet: these two are theirs alone. Anyone else, and a group that
  // does not exist, get the same NO_INVITATION.
  if (c.type === 'group.invite.accept' || c.type === 'group.invite.decline') {
    if (c.type === 'group.invite.accept' && s.exists && s.members.has(c.actor)) return none
    if (c.type === 'group.invite.decline' && s.declined.has(c.actor)) return none
    if (!s.invited.has(c.actor)) return refuse('NO_INVITATION')
    if (c.type === 'group.invite.decline') return one(base('member.invite_cancelled', { userId: c.actor }))
    if (s.members.size >= ctx.limits.maxGroupMembers) return refuse('GROUP_FULL')
    return one(base('member.joined', { userId: c.actor }))
  }

  if (
    c.type === 'group.link.join' ||
    c.type === 'group.link.create' ||
    c.type === 'group.link.revoke' ||
    c.type === 'group.join.approve' ||
    c.type === 'group.join.deny' ||
    c.type === 'group.join.cancel'
  ) {
    // A joiner and a requester are not members: these decide for non-members too.
    const me = s.exists ? s.members.get(c.actor) : undefined
    const make = <T extends ChatEvent['type']>(type: T, data: EventData<T>) => base(type, data as never)
    if (c.type === 'group.join.approve' || c.type === 'group.join.deny' || c.type === 'group.join.cancel')
      return decideJoin(s, me, c, ctx.limits, make)
    return decideLink(
      s,
      me,
      c,
      {
        maxLinks: ctx.limits.maxInviteLinks ?? 10,
        maxGroupMembers: ctx.limits.maxGroupMembers,
        maxRequests: ctx.limits.maxJoinRequests ?? 100,
      },
      make,
    )
  }

  // Every other command needs the actor to be a member; unknown and foreign look the same.
  const me = s.exists ? s.members.get(c.actor) : undefined
  if (!me) return refuse('NOT_A_MEMBER')

  switch (c.type) {
    case 'send': {
      if (s.kind === 'group' && s.settings.sendMessages === 'admins' && me.role !== 'admin')
        return refuse('ADMINS_ONLY')
      if (c.forward) {
        const content = forwardedContent(c.forward, c)
        if (!content.ok) return refuse(content.code, content.message)
        return one(sentEvent((d) => base('message.sent', d), s, c, content.data))
      }
      if (c.kind === 'text') {
        if (c.mediaId !== undefined) return refuse('INVALID_FRAME', 'a text message carries no mediaId')
        if (!c.text) return refuse('INVALID_FRAME', 'a text message needs text')
        if (c.text.length > ctx.limits.maxTextLength) return refuse('TEXT_TOO_LONG')
      } else {
        if (c.mediaId === undefined) return refuse('INVALID_FRAME', `a ${c.kind} message needs mediaId`)
        if (c.text !== undefined && c.text.length > ctx.limits.maxCaptionLength)
          return refuse('TEXT_TOO_LONG')
        if (!c.media || c.media.mediaId !== c.mediaId) return refuse('MEDIA_NOT_FOUND')
        if (c.media.kind !== c.kind) return refuse('MEDIA_KIND_MISMATCH')
      }
      if (c.mentions && c.mentions.length > 0 && s.kind !== 'group')
        return refuse('INVALID_FRAME', 'mentions are for groups')
      // Who is not another member now is dropped, not refused: they may have just left.
      const mentions = [...new Set(c.mentions ?? [])].filter((u) => u !== c.actor && s.members.has(u))
      let quote: ReturnType<typeof targetMessage> | undefined
      if (c.replyTo !== undefined) {
        quote = targetMessage(s, me, c.replyTo, c.quoted)
        if (!quote.ok) return refuse(quote.code)
      }
      return one(
        sentEvent((d) => base('message.sent', d), s, c, {
          kind: c.kind,
          ...(c.text !== undefined ? { text: c.text } : {}),
          // Checked above: a media message carries the ref `forAttach` answered.
          ...(c.kind !== 'text' ? { media: c.media as MediaRef } : {}),
          ...(quote?.ok ? { replyTo: replyRef(quote.target) } : {}),
          ...(mentions.length > 0 ? { mentions } : {}),
        }),
      )
    }
    case 'message.edit':
    case 'message.delete':
    case 'message.react':
      return decideMessage(s, me, c, ctx)
    case 'receipt': {
      if (c.upTo > lastSeq(s)) return refuse('INVALID_FRAME', `upTo ${c.upTo} is beyond the conversation`)
      const current = c.kind === 'read' ? me.read : me.delivered
      if (c.upTo <= current) return none
      return one(
        c.kind === 'read'
          ? base('receipt.read', { upTo: c.upTo })
          : base('receipt.delivered', { upTo: c.upTo }),
      )
    }
    case 'group.leave':
      if (s.kind !== 'group') return refuse('NOT_A_GROUP')
      return one(base('member.left', { userId: c.actor }))
    case 'group.rename':
      if (s.kind !== 'group') return refuse('NOT_A_GROUP')
      if (me.role !== 'admin' && s.settings.editInfo !== 'everyone') return refuse('NOT_ADMIN')
      if (s.title === c.title) return none
      return one(base('conversation.renamed', { title: c.title }))
    case 'group.profile':
    case 'group.settings':
      return decideProfile(s, me, c, (d) =>
        base(
          c.type === 'group.profile' ? 'conversation.profile_changed' : 'conversation.settings_changed',
          d as never,
        ),
      )
    case 'group.add':
    case 'group.remove':
    case 'group.promote':
    case 'group.demote': {
      if (s.kind !== 'group') return refuse('NOT_A_GROUP')
      if (me.role !== 'admin') return refuse('NOT_ADMIN')
      const target = s.members.get(c.userId)
      if (c.type === 'group.add') {
        if (target) return none
        if (!c.known.has(c.userId)) return refuse('USER_NOT_FOUND')
        if (c.addable.has(c.userId)) {
          if (s.members.size >= ctx.limits.maxGroupMembers) return refuse('GROUP_FULL')
          return one(base('member.added', { userId: c.userId, role: 'member' }))
        }
        if (s.invited.has(c.userId)) return none
        if (s.declined.has(c.userId)) return refuse('INVITE_DECLINED')
        // Pending invitations are bounded like members: the state of a group stays bounded.
        if (s.invited.size >= ctx.limits.maxGroupMembers) return refuse('GROUP_FULL')
        return one(base('member.invited', { userId: c.userId }))
      }
      if (!target) {
        if (c.type !== 'group.remove') return refuse('USER_NOT_FOUND', 'not a member of this group')
        // Removing someone invited withdraws the invitation.
        return s.invited.has(c.userId) ? one(base('member.invite_cancelled', { userId: c.userId })) : none
      }
      if (c.type === 'group.remove') return one(base('member.removed', { userId: c.userId }))
      const role = c.type === 'group.promote' ? 'admin' : 'member'
      if (target.role === role) return none
      return one(base('member.role_changed', { userId: c.userId, role }))
    }
    default: {
      const never: never = c
      throw new Error(`unhandled command ${(never as Command).type}`)
    }
  }
}
