import type { ClientFrameOf } from '@chatapp/contracts'
import type { MessageCommand } from '@chatapp/domain'
import type { Outcome } from '../conversation/command-runner.js'
import type { Connection } from '../session/connection.js'
import type { CommandDeps, HandlerTable } from './handler.js'

type MessageFrames = 'message.edit' | 'message.delete' | 'message.react'

const reply = (conn: Connection, rid: string, out: Outcome) =>
  out.ok
    ? conn.send({ type: 'ok', rid, conversationId: out.conversationId, ...(out.seq ? { seq: out.seq } : {}) })
    : conn.error(out.code, rid, out.message)

/**
 * Edit, delete (for me or everyone) and react (ADR 0211, 0212): each reads the target message from
 * the log inside the conversation's queue (its fixed facts: sender, kind, time, media), then
 * decides on the folded state and appends.
 */
export const messageHandlers = (d: CommandDeps): Pick<HandlerTable, MessageFrames> => {
  const run = async (
    conn: Connection,
    f: ClientFrameOf<MessageFrames>,
    build: (found: MessageCommand['found']) => MessageCommand,
  ) => {
    const out = await d.runner.run(f.conversationId, async () =>
      build(await d.messageAt(f.conversationId, f.seq)),
    )
    return reply(conn, f.rid, out)
  }
  return {
    'message.edit': (conn, f) =>
      run(conn, f, (found) => ({
        type: 'message.edit',
        actor: conn.userId,
        seq: f.seq,
        text: f.text,
        found,
      })),
    'message.delete': (conn, f) =>
      run(conn, f, (found) => ({
        type: 'message.delete',
        actor: conn.userId,
        seq: f.seq,
        for: f.for,
        found,
      })),
    'message.react': (conn, f) =>
      run(conn, f, (found) => ({
        type: 'message.react',
        actor: conn.userId,
        seq: f.seq,
        emoji: f.emoji,
        found,
      })),
  }
}
