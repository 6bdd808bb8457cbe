import { randomBytes } from 'node:crypto'
import type { ChatEvent, ClientFrameOf } from '@chatapp/contracts'
import type { Command } from '@chatapp/domain'
import type { Outcome, RunOptions } from '../conversation/command-runner.js'
import { directConversationId, groupConversationId } from '../conversation/conversation-ids.js'
import type { Connection } from '../session/connection.js'
import { answer } from './answer.js'
import { groupConsent } from './group-consent.js'
import type { CommandDeps, HandlerTable } from './handler.js'

/** Who an accepted event invited instead of adding: the `invited` of the `ok` it answers. */
const invitedBy = (e: ChatEvent | undefined): string[] | undefined => {
  if (e?.type === 'member.invited') return [e.data.userId]
  return e?.type === 'conversation.created' ? e.data.invited : undefined
}

const reply = (conn: Connection, rid: string, out: Outcome) => {
  const invited = out.ok ? invitedBy(out.event) : undefined
  return answer(conn, rid, out, invited ? { invited } : {})
}

type GroupFrames =
  | 'direct.open'
  | 'group.create'
  | 'group.add'
  | 'group.remove'
  | 'group.promote'
  | 'group.demote'
  | 'group.leave'
  | 'group.rename'
  | 'group.invite.accept'
  | 'group.invite.decline'
  | 'group.profile'
  | 'group.settings'

/** Opening direct conversations and managing groups: each one command on one conversation. */
export const conversationHandlers = (d: CommandDeps): Pick<HandlerTable, GroupFrames> => {
  const known = (ids: string[]) => d.directory.existing(ids)
  const run = async (conn: Connection, rid: string, id: string, c: Command, opts?: RunOptions) =>
    reply(conn, rid, await d.runner.run(id, c, opts))
  /** The invitee's own commands: their invitation may be newer than this gateway's cached state. */
  const asInvitee = async (
    conn: Connection,
    f: ClientFrameOf<'group.invite.accept' | 'group.invite.decline'>,
  ) => {
    await d.store.refresh(f.conversationId, 'm')
    return run(conn, f.rid, f.conversationId, { type: f.type, actor: conn.userId })
  }
  return {
    'direct.open': async (conn, f: ClientFrameOf<'direct.open'>) => {
      const me = conn.userId
      const k = f.peerId === me ? new Set<string>() : await known([f.peerId])
      return run(conn, f.rid, directConversationId(me, f.peerId), {
        type: 'direct.open',
        actor: me,
        peerId: f.peerId,
        known: k,
      })
    },
    'group.create': async (conn, f) => {
      const me = conn.userId
      const cid = f.clientGroupId
      const retryable = cid !== undefined
      const id = retryable ? groupConversationId(me, cid) : `c_${randomBytes(16).toString('base64url')}`
      // A retry of a create that is stored is answered, not counted against the limit.
      const stored = retryable && (await d.store.refresh(id, 'm')).exists
      if (!stored && d.groupQuota) {
        const wait = await d.groupQuota.takeGroupCreation(me)
        if (wait > 0) return conn.error('TOO_MANY_GROUPS', f.rid, undefined, { retryAfterMs: wait })
      }
      const consent = await groupConsent(d.directory, d.store, me, f.memberIds)
      return run(
        conn,
        f.rid,
        id,
        {
          type: 'group.create',
          actor: me,
          title: f.title,
          memberIds: f.memberIds,
          ...consent,
          idempotent: retryable,
        },
        retryable ? { msgId: `${id}:created` } : undefined,
      )
    },
    'group.add': async (conn, f) =>
      run(conn, f.rid, f.conversationId, {
        type: 'group.add',
        actor: conn.userId,
        userId: f.userId,
        ...(await groupConsent(d.directory, d.store, conn.userId, [f.userId])),
      }),
    'group.remove': (conn, f) =>
      run(conn, f.rid, f.conversationId, { type: f.type, actor: conn.userId, userId: f.userId }),
    'group.promote': (conn, f) =>
      run(conn, f.rid, f.conversationId, { type: f.type, actor: conn.userId, userId: f.userId }),
    'group.demote': (conn, f) =>
      run(conn, f.rid, f.conversationId, { type: f.type, actor: conn.userId, userId: f.userId }),
    'group.leave': (conn, f) =>
      run(conn, f.rid, f.conversationId, { type: 'group.leave', actor: conn.userId }),
    'group.rename': (conn, f) =>
      run(conn, f.rid, f.conversationId, { type: 'group.rename', actor: conn.userId, title: f.title }),
    // The avatar is read inside the conversation's queue, as a send's media is.
    'group.profile': (conn, f) =>
      d.runner
        .run(f.conversationId, async () => ({
          type: 'group.profile',
          actor: conn.userId,
          ...(f.description !== undefined ? { description: f.description } : {}),
          ...(f.avatarMediaId !== undefined ? { avatarMediaId: f.avatarMediaId } : {}),
          ...(f.avatarMediaId && d.media
            ? { avatar: await d.media.forAttach(f.avatarMediaId, conn.userId) }
            : {}),
        }))
        .then((out) => reply(conn, f.rid, out)),
    'group.settings': (conn, f) =>
      run(conn, f.rid, f.conversationId, {
        type: 'group.settings',
        actor: conn.userId,
        ...(f.editInfo ? { editInfo: f.editInfo } : {}),
        ...(f.sendMessages ? { sendMessages: f.sendMessages } : {}),
      }),
    'group.invite.accept': asInvitee,
    'group.invite.decline': asInvitee,
  }
}
