import type { TypingSignal } from '@chatapp/contracts'
import type { Admission } from '../session/admission.js'
import { runSync } from '../session/sync.js'
import type { CommandDeps, HandlerTable } from './handler.js'

/** Frames that append nothing to a conversation's message lane: receipts, typing, presence, sync, ping. */
export const signalHandlers = (
  d: CommandDeps,
  syncTail: number,
  admission: Admission,
): Pick<HandlerTable, 'receipt' | 'typing' | 'presence.subscribe' | 'sync' | 'ping' | 'auth'> => ({
  auth: (conn) => conn.error('ALREADY_AUTHENTICATED'),
  ping: (conn, f) =>
    conn.send({ type: 'pong', ...(f.rid !== undefined ? { rid: f.rid } : {}), serverTime: Date.now() }),
  // In line with every other sync of this gateway; one whose socket closed meanwhile is dropped.
  sync: (conn, f) =>
    admission.run(
      () => runSync({ feed: d.feed, store: d.store, defaultTail: syncTail }, conn, f),
      () => conn.closed,
    ),
  receipt: async (conn, f) => {
    // Noted before the append: its event may reach this connection before the append returns.
    conn.noteReceipt(f.conversationId, f.kind, f.upTo)
    const out = await d.runner.run(f.conversationId, {
      type: 'receipt',
      actor: conn.userId,
      kind: f.kind,
      upTo: f.upTo,
    })
    return out.ok ? undefined : conn.error(out.code, undefined, out.message)
  },
  typing: async (conn, f) => {
    const s = await d.store.get(f.conversationId)
    if (!s.members.has(conn.userId)) return conn.error('NOT_A_MEMBER')
    const signal: TypingSignal = { userId: conn.userId, active: f.active }
    d.nc.publish(d.names.typingSubject(f.conversationId), JSON.stringify(signal))
    return undefined
  },
  'presence.subscribe': async (conn, f) => {
    if (f.userIds.length > d.limits.maxPresenceWatch)
      return conn.error('INVALID_FRAME', f.rid, 'too many users')
    if (!d.presence) return conn.error('UNAVAILABLE', f.rid)
    await d.presence.subscribe(conn, f.userIds)
    return f.rid !== undefined ? conn.send({ type: 'ok', rid: f.rid }) : undefined
  },
})
