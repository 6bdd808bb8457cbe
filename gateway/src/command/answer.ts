import type { ServerFrameOf } from '@chatapp/contracts'
import type { Outcome } from '../conversation/command-runner.js'
import type { Connection } from '../session/connection.js'

/**
 * The answer to a conversation command: `ok` with the conversation and the stored event's `seq`
 * (none when nothing needed storing), plus what the command adds; or the refusal's `error`.
 */
export const answer = (
  conn: Connection,
  rid: string,
  out: Outcome,
  extra: Pick<ServerFrameOf<'ok'>, 'invited' | 'link' | 'preview' | 'requested'> = {},
) =>
  out.ok
    ? conn.send({
        type: 'ok',
        rid,
        conversationId: out.conversationId,
        ...(out.seq ? { seq: out.seq } : {}),
        ...extra,
      })
    : conn.error(out.code, rid, out.message)
