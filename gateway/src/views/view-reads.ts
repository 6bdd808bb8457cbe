import type { HistoryMessage, InboxEntry, MessageStatusResponse, ReplyRef } from '@chatapp/contracts'
import { ChatError, VIEW_TABLES } from '@chatapp/contracts'
import { unreadCount } from '@chatapp/domain'
import type pg from 'pg'
import type { SentMessageLookup } from '../ports.js'
import { historyRange, toPage } from './history-page.js'

/**
 * The gateway's reads of the projector's views (schema `<ns>_views`). Every query is one indexed
 * scan (docs/query-plans.md shows the plans; a test asserts them). Authorisation is the caller's:
 * these functions answer for any conversation id they are given.
 *
 * Views lag the log by the projection delay: what a reconnecting client needs beyond a view's
 * offset comes from the stream (the sync path), never from here.
 */
export interface ViewReads extends SentMessageLookup {
  inbox(userId: string, limit?: number): Promise<InboxEntry[]>
  /**
   * A page of history; nothing at or below `floor` (see `joinedAt`), nothing `viewer` hid (delete
   * for me).
   */
  history(
    conversationId: string,
    q: { before?: number; after?: number; limit?: number },
    floor?: number,
    viewer?: string,
  ): Promise<{ messages: HistoryMessage[]; hasMore: boolean }>
  /**
   * The sequence of the event that (last) made the user a member, per the views; undefined when
   * the views do not know them as an active member yet (projection lag).
   */
  joinedAt(conversationId: string, userId: string): Promise<number | undefined>
  status(conversationId: string, seq: number): Promise<MessageStatusResponse['members']>
}

const num = (v: unknown): number => Number(v)

/** A history row's reply, edit, tombstone and reactions (ADR 0210–0212), as the contract has them. */
const historyMarks = (x: {
  reply_to: ReplyRef | null
  forwarded: number | null
  mentions: string[] | null
  quote_deleted: boolean
  edited_at: string | number | null
  deleted_at: string | number | null
  reactions: [string, string][] | null
}): Partial<HistoryMessage> => {
  if (x.deleted_at !== null) return { deleted: true }
  const out: Partial<HistoryMessage> = {}
  if (x.reply_to) {
    // The quote of a message deleted since keeps its place, not its content.
    const { preview, ...ref } = x.reply_to
    out.replyTo = x.quote_deleted || preview === undefined ? ref : { ...ref, preview }
  }
  if (x.forwarded !== null) out.forwarded = { count: num(x.forwarded) }
  if (x.mentions) out.mentions = x.mentions
  if (x.edited_at !== null) out.editedAt = num(x.edited_at)
  if (x.reactions) {
    const by = new Map<string, string[]>()
    for (const [emoji, userId] of x.reactions) by.set(emoji, [...(by.get(emoji) ?? []), userId])
    out.reactions = [...by]
      .map(([emoji, userIds]) => ({ emoji, count: userIds.length, userIds }))
      .sort((a, b) => b.count - a.count)
  }
  return out
}
const MAX_INBOX = 1000

/**
 * The views belong to the projector: before its first start they do not exist, and while
 * PostgreSQL is away they cannot answer. Either way a reader gets a retryable UNAVAILABLE rather
 * than an INTERNAL error.
 */
const VIEWS_MISSING = new Set(['42P01', '3F000', '57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET'])
const isUnavailable = (err: unknown): boolean => {
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && (VIEWS_MISSING.has(code) || code.startsWith('08'))
}

export const pgViewReads = (pool: pg.Pool, schema: string): ViewReads => {
  const query = async (sql: string, params: unknown[]): Promise<pg.QueryResult> => {
    try {
      return await pool.query(sql, params)
    } catch (err) {
      if (isUnavailable(err))
        throw new ChatError('UNAVAILABLE', 'the conversation views are not available', { cause: err })
      throw err
    }
  }
  if (!/^[a-z][a-z0-9_]*$/.test(schema)) throw new Error(`bad views schema ${schema}`)
  const t = (name: keyof typeof VIEW_TABLES) => `"${schema}".${VIEW_TABLES[name]}`
  const inboxSql = `
    SELECT c.conversation_id, c.kind, c.title, c.description, c.avatar, c.edit_info, c.send_messages, m.role, c.member_count, c.last_seq, c.last_at, c.last_n,
      m.delivered_up_to, m.read_up_to, lm.seq AS lm_seq, lm.n AS lm_n, lm.sender_id AS lm_sender,
      lm.kind AS lm_kind, lm.text AS lm_text, lm.at AS lm_at, lm.edited_at AS lm_edited,
      lm.deleted_at AS lm_deleted,
      CASE WHEN c.kind = 'direct' THEN (SELECT p.user_id FROM ${t('members')} p
        WHERE p.conversation_id = c.conversation_id AND p.user_id <> m.user_id LIMIT 1) END AS peer_id,
      CASE WHEN c.kind = 'group' THEN (SELECT count(*) FROM ${t('mentions')} x
        WHERE x.conversation_id = c.conversation_id AND x.user_id = m.user_id
          AND x.seq > GREATEST(m.read_up_to, m.joined_seq)) END
        AS unread_mentions,
      COALESCE((SELECT r.n FROM ${t('messages')} r WHERE r.conversation_id = c.conversation_id
        AND r.seq <= GREATEST(m.read_up_to, m.joined_seq) ORDER BY r.seq DESC LIMIT 1), 0) AS read_n
    FROM ${t('members')} m
    JOIN ${t('conversations')} c ON c.conversation_id = m.conversation_id
    -- The last message this user did not hide (delete for me): nearly always the last one.
    LEFT JOIN LATERAL (SELECT l.* FROM ${t('messages')} l
      WHERE l.conversation_id = c.conversation_id AND l.seq <= c.last_msg_seq
        AND NOT EXISTS (SELECT 1 FROM ${t('hidden_messages')} h
          WHERE h.conversation_id = l.conversation_id AND h.user_id = m.user_id AND h.seq = l.seq)
      ORDER BY l.seq DESC LIMIT 1) lm ON true
    WHERE m.user_id = $1 AND m.active
    ORDER BY c.last_at DESC, c.conversation_id
    LIMIT $2`
  const historySql = (direction: 'asc' | 'desc') => `
    SELECT g.seq, g.n, g.sender_id, g.kind, g.text, g.media, g.at, md.state AS media_state,
      md.variants AS media_variants, g.reply_to, g.forwarded, g.mentions, g.edited_at, g.deleted_at,
      q.deleted_at IS NOT NULL AS quote_deleted,
      (SELECT json_agg(json_build_array(r.emoji, r.user_id) ORDER BY r.at, r.user_id) FROM ${t('reactions')} r
        WHERE r.conversation_id = g.conversation_id AND r.seq = g.seq) AS reactions
    FROM ${t('messages')} g
    LEFT JOIN ${t('media')} md ON md.conversation_id = g.conversation_id AND md.media_id = g.media_id
    LEFT JOIN ${t('messages')} q ON q.conversation_id = g.conversation_id AND q.seq = (g.reply_to->>'seq')::int8
    WHERE g.conversation_id = $1 AND g.seq > $2 AND ($3::int8 IS NULL OR g.seq < $3)
      AND NOT EXISTS (SELECT 1 FROM ${t('hidden_messages')} h
        WHERE h.conversation_id = g.conversation_id AND h.user_id = $5 AND h.seq = g.seq)
    ORDER BY g.seq ${direction === 'asc' ? 'ASC' : 'DESC'}
    LIMIT $4`
  const statusSql = `
    SELECT user_id, delivered_up_to >= $2 AS delivered, read_up_to >= $2 AS read
    FROM ${t('members')} WHERE conversation_id = $1 AND active ORDER BY user_id`
  const findSql = `
    SELECT seq, n, at FROM ${t('messages')}
    WHERE conversation_id = $1 AND sender_id = $2 AND client_msg_id = $3`

  const joinedSql = `SELECT joined_seq FROM ${t('members')} WHERE conversation_id = $1 AND user_id = $2 AND active`

  return {
    async inbox(userId, limit = MAX_INBOX) {
      const r = await query(inboxSql, [userId, Math.min(limit, MAX_INBOX)])
      return r.rows.map((x): InboxEntry => {
        const lastN = num(x.last_n)
        return {
          conversationId: x.conversation_id,
          kind: x.kind,
          title: x.title,
          role: x.role,
          memberCount: num(x.member_count),
          ...(x.peer_id ? { peerId: x.peer_id } : {}),
          lastSeq: num(x.last_seq),
          lastMessage:
            x.lm_seq === null
              ? null
              : {
                  seq: num(x.lm_seq),
                  n: num(x.lm_n),
                  senderId: x.lm_sender,
                  kind: x.lm_kind,
                  ...(x.lm_text !== null ? { text: x.lm_text } : {}),
                  at: num(x.lm_at),
                  ...(x.lm_edited !== null && x.lm_deleted === null ? { edited: true as const } : {}),
                  ...(x.lm_deleted !== null ? { deleted: true as const } : {}),
                },
          // read_n: the `n` of the last message at or before the read point (the later of the read
          // watermark and the join), looked up by the query; the count is the domain's rule.
          ...(x.description !== null ? { description: x.description } : {}),
          ...(x.avatar ? { avatar: x.avatar } : {}),
          ...(x.kind === 'group'
            ? { settings: { editInfo: x.edit_info, sendMessages: x.send_messages } }
            : {}),
          unread: unreadCount(lastN, num(x.read_n)),
          ...(x.unread_mentions !== null ? { unreadMentions: num(x.unread_mentions) } : {}),
          deliveredUpTo: num(x.delivered_up_to),
          readUpTo: num(x.read_up_to),
        }
      })
    },
    async joinedAt(conversationId, userId) {
      const r = await query(joinedSql, [conversationId, userId])
      return r.rows[0] ? num(r.rows[0].joined_seq) : undefined
    },
    async history(conversationId, q, floor = 0, viewer) {
      const range = historyRange(q, floor)
      const r = await query(historySql(range.direction), [
        conversationId,
        range.after,
        range.before,
        range.read,
        viewer ?? null,
      ])
      const page = toPage(range, r.rows)
      return {
        hasMore: page.hasMore,
        messages: page.rows.map(
          (x): HistoryMessage => ({
            seq: num(x.seq),
            n: num(x.n),
            senderId: x.sender_id,
            kind: x.kind,
            ...(x.text !== null ? { text: x.text } : {}),
            ...(x.media
              ? {
                  media: {
                    ...x.media,
                    state: x.media_state ?? 'pending',
                    ...(x.media_variants ? { variants: x.media_variants } : {}),
                  },
                }
              : {}),
            at: num(x.at),
            ...historyMarks(x),
          }),
        ),
      }
    },
    async status(conversationId, seq) {
      const r = await query(statusSql, [conversationId, seq])
      return r.rows.map((x) => ({ userId: x.user_id, delivered: x.delivered, read: x.read }))
    },
    async find(conversationId, senderId, clientMsgId) {
      const r = await query(findSql, [conversationId, senderId, clientMsgId])
      const x = r.rows[0]
      return x ? { seq: num(x.seq), n: num(x.n), at: num(x.at) } : undefined
    },
  }
}
