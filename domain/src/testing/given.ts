import { type ChatEvent, laneOf, type Role } from '@chatapp/contracts'
import { type Command, type DecideContext, type Decision, decide } from '../decide.js'
import { evolve, type Verdict } from '../evolve.js'
import { type ConversationState, emptyState } from '../state.js'

/**
 * Given / when / then for the conversation rules (emmett's decider specification): `given` folds
 * events, each stored at the next sequence, so tests state what happened rather than how.
 * Shared by the domain's tests and every package that projects or decides on events.
 */
export interface Given {
  state: ConversationState
  /** The verdict of each given event, in order. */
  verdicts: Verdict[]
  /** The next sequence an event would be stored at. */
  nextSeq: number
  /** Folds more events at the following sequences. */
  and(...events: ChatEvent[]): Given
  when(command: Command, ctx?: Partial<DecideContext>): Decision
}

export const testContext = (over: Partial<DecideContext> = {}): DecideContext => {
  let ids = 0
  return {
    now: 1_000,
    newId: () => `e${++ids}`,
    limits: {
      maxTextLength: 4096,
      maxCaptionLength: 1024,
      maxGroupMembers: 1024,
      editWindowMs: 15 * 60_000,
      deleteWindowMs: 48 * 3_600_000,
    },
    ...over,
  }
}

export const given = (conversationId: string, ...events: ChatEvent[]): Given => {
  const g: Given = {
    state: emptyState(conversationId),
    verdicts: [],
    nextSeq: 1,
    and(...more) {
      for (const event of more)
        g.verdicts.push(evolve(g.state, { seq: g.nextSeq++, lane: laneOf(event.type), event }))
      return g
    },
    when: (command, ctx) => decide(g.state, command, testContext(ctx)),
  }
  return g.and(...events)
}

/** Terse event builders for tests. `at` is fixed; ids are unique per call. */
let eventIds = 0
const head = (conversationId: string, actor: string) => ({
  v: 1 as const,
  id: `t${++eventIds}`,
  conversationId,
  actor,
  at: 1_000,
})

export const ev = {
  created: (
    c: string,
    actor: string,
    others: string[] = [],
    kind = c.startsWith('d_') ? 'direct' : 'group',
    invited: string[] = [],
  ) =>
    ({
      ...head(c, actor),
      type: 'conversation.created',
      data: {
        kind,
        title: kind === 'group' ? 'group' : null,
        members: [
          { userId: actor, role: 'admin' as Role },
          ...others.map((userId) => ({ userId, role: (kind === 'direct' ? 'admin' : 'member') as Role })),
        ],
        ...(invited.length > 0 ? { invited } : {}),
      },
    }) as ChatEvent,
  message: (c: string, actor: string, n: number, text = `m${n}`, clientMsgId = `cm${n}-${actor}`) =>
    ({
      ...head(c, actor),
      type: 'message.sent',
      data: { clientMsgId, deviceId: 'dev1', n, kind: 'text', text },
    }) as ChatEvent,
  added: (c: string, actor: string, userId: string) =>
    ({ ...head(c, actor), type: 'member.added', data: { userId, role: 'member' } }) as ChatEvent,
  invited: (c: string, actor: string, userId: string) =>
    ({ ...head(c, actor), type: 'member.invited', data: { userId } }) as ChatEvent,
  joined: (c: string, actor: string) =>
    ({ ...head(c, actor), type: 'member.joined', data: { userId: actor } }) as ChatEvent,
  /** Declined when `actor` is `userId`, withdrawn when an admin. */
  uninvited: (c: string, actor: string, userId = actor) =>
    ({ ...head(c, actor), type: 'member.invite_cancelled', data: { userId } }) as ChatEvent,
  removed: (c: string, actor: string, userId: string) =>
    ({ ...head(c, actor), type: 'member.removed', data: { userId } }) as ChatEvent,
  left: (c: string, actor: string) =>
    ({ ...head(c, actor), type: 'member.left', data: { userId: actor } }) as ChatEvent,
  role: (c: string, actor: string, userId: string, role: Role) =>
    ({ ...head(c, actor), type: 'member.role_changed', data: { userId, role } }) as ChatEvent,
  renamed: (c: string, actor: string, title: string) =>
    ({ ...head(c, actor), type: 'conversation.renamed', data: { title } }) as ChatEvent,
  delivered: (c: string, actor: string, upTo: number) =>
    ({ ...head(c, actor), type: 'receipt.delivered', data: { upTo } }) as ChatEvent,
  read: (c: string, actor: string, upTo: number) =>
    ({ ...head(c, actor), type: 'receipt.read', data: { upTo } }) as ChatEvent,
  batch: (
    c: string,
    delivered: { userId: string; upTo: number }[],
    read: { userId: string; upTo: number }[] = [],
  ) => ({ ...head(c, 'system'), type: 'receipt.batch', data: { delivered, read } }) as ChatEvent,
  edited: (c: string, actor: string, seq: number, text: string) =>
    ({ ...head(c, actor), type: 'message.edited', data: { seq, text } }) as ChatEvent,
  deleted: (c: string, actor: string, seq: number, senderId: string, mediaId?: string) =>
    ({
      ...head(c, actor),
      type: 'message.deleted',
      data: { seq, senderId, ...(mediaId ? { mediaId } : {}) },
    }) as ChatEvent,
  hidden: (c: string, actor: string, seq: number) =>
    ({ ...head(c, actor), type: 'message.hidden', data: { seq } }) as ChatEvent,
  reacted: (c: string, actor: string, seq: number, senderId: string, emoji: string | null) =>
    ({ ...head(c, actor), type: 'message.reacted', data: { seq, senderId, emoji } }) as ChatEvent,
  reply: (c: string, actor: string, n: number, to: { seq: number; senderId: string; preview?: string }) =>
    ({
      ...head(c, actor),
      type: 'message.sent',
      data: {
        clientMsgId: `cm${n}-${actor}`,
        deviceId: 'dev1',
        n,
        kind: 'text',
        text: `m${n}`,
        replyTo: { kind: 'text', ...to },
      },
    }) as ChatEvent,
  mediaReady: (c: string, mediaId: string) =>
    ({ ...head(c, 'system'), type: 'media.ready', data: { mediaId, variants: [] } }) as ChatEvent,
}
