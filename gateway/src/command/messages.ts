import type { ClientFrameOf } from '@chatapp/contracts'
import type { MessageCommand } from '@chatapp/domain'
import type { Connection } from '../session/connection.js'
import { answer } from './answer.js'
import type { CommandDeps, HandlerTable } from './handler.js'

type MessageFrames = 'message.edit' | 'message.delete' | 'message.react'

/**
 * Edit, delete (for me or everyone) and react (ADR 0211, 0212): each reads the target message from
 * the log inside the conversation's queue (its fixed facts: sender, kind, time, media), then
 * decides on the folded state and appends.
 */
export const messageHandlers = (d: CommandDeps): Pick<HandlerTable, MessageFrames> => {
  /** What each frame adds to the command: the rest is the same for all three. */
  const bodyOf = (f: ClientFrameOf<MessageFrames>) =>
    f.type === 'message.edit'
      ? { text: f.text }
      : f.type === 'message.delete'
        ? { for: f.for }
        : { emoji: f.emoji }
  const handle = async (conn: Connection, f: ClientFrameOf<MessageFrames>) => {
    const out = await d.runner.run(
      f.conversationId,
      async (): Promise<MessageCommand> =>
        ({
          type: f.type,
          actor: conn.userId,
          seq: f.seq,
          ...bodyOf(f),
          found: await d.messageAt(f.conversationId, f.seq),
        }) as MessageCommand,
    )
    return answer(conn, f.rid, out)
  }
  return { 'message.edit': handle, 'message.delete': handle, 'message.react': handle }
}
