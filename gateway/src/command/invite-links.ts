import { createHash, randomBytes } from 'node:crypto'
import type { ClientFrameOf } from '@chatapp/contracts'
import { linkOpens } from '@chatapp/domain'
import type { Connection } from '../session/connection.js'
import { TokenBucket } from '../session/token-bucket.js'
import { answer } from './answer.js'
import type { CommandDeps, HandlerTable } from './handler.js'

type LinkFrames =
  | 'group.link.create'
  | 'group.link.revoke'
  | 'group.link.preview'
  | 'group.link.join'
  | 'group.join.approve'
  | 'group.join.deny'
  | 'group.join.cancel'

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('base64url')

/** A token is `<conversationId>.<secret>`; the link id is the start of the secret's hash (ADR 0216). */
export const parseLinkToken = (token: string): { conversationId: string; linkId: string; hash: string } => {
  const dot = token.lastIndexOf('.')
  const hash = hashOf(token.slice(dot + 1))
  return { conversationId: token.slice(0, dot), linkId: hash.slice(0, 16), hash }
}

/** Buckets of link uses per user, at most this many users remembered (the oldest are dropped). */
const MAX_TRACKED = 10_000

/**
 * Invite links: admins create and revoke them in the group's log; anyone logged in previews and
 * joins with a token, or asks to join through a link that needs approval, which an admin answers
 * (ADR 0217). Previews and joins are limited per user (a token is 128 random bits, so this bounds
 * the load a user makes, not guessing, which is hopeless anyway).
 */
export const inviteLinkHandlers = (d: CommandDeps): Pick<HandlerTable, LinkFrames> => {
  const perMinute = d.limits.linkUsesPerMinute
  const buckets = new Map<string, TokenBucket>()
  const limited = (userId: string): number => {
    const now = Date.now()
    let b = buckets.get(userId)
    if (!b) {
      if (buckets.size >= MAX_TRACKED) buckets.delete(buckets.keys().next().value!)
      b = new TokenBucket(perMinute / 60, perMinute, now)
      buckets.set(userId, b)
    }
    return b.take(now)
  }
  /** An admin's answer to a join request. */
  const answerRequest = async (
    conn: Connection,
    f: ClientFrameOf<'group.join.approve' | 'group.join.deny'>,
  ) =>
    answer(
      conn,
      f.rid,
      await d.runner.run(f.conversationId, { type: f.type, actor: conn.userId, userId: f.userId }),
    )
  return {
    'group.link.create': async (conn, f) => {
      const secret = randomBytes(16).toString('base64url')
      const hash = hashOf(secret)
      const linkId = hash.slice(0, 16)
      const out = await d.runner.run(f.conversationId, {
        type: 'group.link.create',
        actor: conn.userId,
        linkId,
        hash,
        ...(f.approval ? { approval: true } : {}),
      })
      return answer(
        conn,
        f.rid,
        out,
        out.ok ? { link: { linkId, token: `${f.conversationId}.${secret}` } } : {},
      )
    },
    'group.link.revoke': async (conn, f) => {
      const out = await d.runner.run(f.conversationId, {
        type: 'group.link.revoke',
        actor: conn.userId,
        linkId: f.linkId,
      })
      return answer(conn, f.rid, out)
    },
    'group.link.preview': async (conn, f) => {
      const wait = limited(conn.userId)
      if (wait > 0) return conn.error('RATE_LIMITED', f.rid, undefined, { retryAfterMs: wait })
      const t = parseLinkToken(f.token)
      // Folded to the log's end: a link created on another gateway a moment ago opens too.
      const s = await d.store.refresh(t.conversationId, 'm')
      if (!linkOpens(s, t.linkId, t.hash)) return conn.error('INVALID_LINK', f.rid)
      return conn.send({
        type: 'ok',
        rid: f.rid,
        conversationId: t.conversationId,
        preview: {
          title: s.title,
          memberCount: s.members.size,
          ...(s.description !== null ? { description: s.description } : {}),
          ...(s.avatar ? { avatar: s.avatar } : {}),
          ...(s.links.get(t.linkId)?.approval ? { approval: true as const } : {}),
        },
      })
    },
    'group.link.join': async (conn, f) => {
      const wait = limited(conn.userId)
      if (wait > 0) return conn.error('RATE_LIMITED', f.rid, undefined, { retryAfterMs: wait })
      const t = parseLinkToken(f.token)
      const out = await d.runner.run(t.conversationId, {
        type: 'group.link.join',
        actor: conn.userId,
        linkId: t.linkId,
        hash: t.hash,
      })
      const requested = out.ok && out.event?.type === 'member.join_requested'
      return answer(conn, f.rid, out, requested ? { requested: true } : {})
    },
    'group.join.approve': answerRequest,
    'group.join.deny': answerRequest,
    'group.join.cancel': async (conn, f) =>
      answer(conn, f.rid, await d.runner.run(f.conversationId, { type: f.type, actor: conn.userId })),
  }
}
