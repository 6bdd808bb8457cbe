import { randomBytes } from 'node:crypto'
import type { ClientFrameOf } from '@chatapp/contracts'
import type { Command } from '@chatapp/domain'
import type { Outcome } from '../conversation/command-runner.js'
import { directConversationId } from '../conversation/direct-id.js'
import type { Connection } from '../session/connection.js'
import type { CommandDeps, HandlerTable } from './handler.js'

const reply = (conn: Connection, rid: string, out: Outcome) =>
  out.ok
    ? conn.send({ type: 'ok', rid, conversationId: out.conversationId, ...(out.seq ? { seq: out.seq } : {}) })
    : conn.error(out.code, rid, out.message)

type GroupFrames =
  | 'direct.open'
  | 'group.create'
  | 'group.add'
  | 'group.remove'
  | 'group.promote'
  | 'group.demote'
  | 'group.leave'
  | 'group.rename'

/** Opening direct conversations and managing groups: each one command on one conversation. */
export const conversationHandlers = (d: CommandDeps): Pick<HandlerTable, GroupFrames> => {
  const known = (ids: string[]) => d.directory.existing(ids)
  const run = async (conn: Connection, rid: string, id: string, c: Command) =>
    reply(conn, rid, await d.runner.run(id, c))
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
      const id = `c_${randomBytes(16).toString('base64url')}`
      const k = await known(f.memberIds)
      return run(conn, f.rid, id, {
        type: 'group.create',
        actor: conn.userId,
        title: f.title,
        memberIds: f.memberIds,
        known: k,
      })
    },
    'group.add': async (conn, f) =>
      run(conn, f.rid, f.conversationId, {
        type: 'group.add',
        actor: conn.userId,
        userId: f.userId,
        known: await known([f.userId]),
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
  }
}
