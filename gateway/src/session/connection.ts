import { CLOSE_CODES, type ErrorBody, type ErrorCode, errorBody, type ServerFrame } from '@chatapp/contracts'
import type { Subscriber } from '../feed/subscriber.js'
import type { Principal } from '../ports.js'
import type { Socket } from '../transport/socket.js'
import type { TokenBucket } from './token-bucket.js'

/**
 * One WebSocket session, transport-free. Kept small on purpose (an idle connection should cost a
 * few KiB): per-user and per-conversation structures live in the feed and are shared.
 */
export class Connection implements Subscriber {
  principal: Principal | undefined
  /** True once `synced` was sent: from then on live events flow to it. */
  synced = false
  /** Rooms (conversation ids) this connection receives live events of. */
  readonly rooms = new Set<string>()
  /** Consecutive frames refused by the rate limiter: past a bound the socket is closed (4429). */
  strikes = 0
  authTimer: NodeJS.Timeout | undefined
  /** Set while the handshake's token is being checked: the frames that arrived meanwhile. */
  held: { data: ArrayBuffer; binary: boolean }[] | undefined
  /**
   * Conversations whose last send on this connection failed with a retryable code: later sends
   * to them are refused until the failed one is resent (`retry: true`), so a user's sends are
   * stored in the order they were made (see command/send.ts). Created on first use.
   */
  blocked: Map<string, ErrorCode> | undefined
  /** This connection's sends whose event is to answer them: `<conversation>\n<clientMsgId>` → rid. */
  echoes: Map<string, { rid: string; taken: boolean; handedOver: boolean }> | undefined
  /** The receipts this connection sent, per conversation (its own receipt events are not echoed). */
  receipts: Map<string, { delivered: number; read: number }> | undefined

  constructor(
    readonly socket: Socket,
    readonly id: number,
    readonly bucket: TokenBucket,
  ) {}

  get userId(): string {
    return this.principal?.userId ?? ''
  }

  get closed(): boolean {
    return this.socket.closed
  }

  get deviceId(): string {
    return this.principal?.deviceId ?? ''
  }

  /**
   * A send whose event may answer it (see command/send.ts). The send handler and the feed race
   * to it: the feed `take`s the rid when it frames the event; the handler then either sees it
   * taken, hands the answer over to the feed (which will frame the event next), or answers with
   * `sent` itself.
   */
  expectEcho(conversationId: string, clientMsgId: string, rid: string): void {
    this.echoes ??= new Map()
    this.echoes.set(`${conversationId}\n${clientMsgId}`, { rid, taken: false, handedOver: false })
  }

  takeEcho(conversationId: string, clientMsgId: string): string | undefined {
    const key = `${conversationId}\n${clientMsgId}`
    const e = this.echoes?.get(key)
    if (!e || e.taken) return undefined
    e.taken = true
    if (e.handedOver) this.echoes?.delete(key)
    return e.rid
  }

  /**
   * After the send's outcome: 'answered' (its event already carried the rid), 'handed-over' (the
   * feed will, when `willDeliver` said so), or 'mine' (the handler answers; the wait is over).
   */
  settleEcho(
    conversationId: string,
    clientMsgId: string,
    feedWillDeliver: boolean,
  ): 'answered' | 'handed-over' | 'mine' {
    const key = `${conversationId}\n${clientMsgId}`
    const e = this.echoes?.get(key)
    if (e?.taken) {
      this.echoes?.delete(key)
      return 'answered'
    }
    if (e && feedWillDeliver) {
      e.handedOver = true
      return 'handed-over'
    }
    this.echoes?.delete(key)
    return 'mine'
  }

  noteReceipt(conversationId: string, kind: 'delivered' | 'read', upTo: number): void {
    this.receipts ??= new Map()
    const r = this.receipts.get(conversationId) ?? { delivered: 0, read: 0 }
    if (upTo > r[kind]) r[kind] = upTo
    if (kind === 'read' && upTo > r.delivered) r.delivered = upTo
    this.receipts.set(conversationId, r)
  }

  ownReceipt(conversationId: string, kind: 'delivered' | 'read'): number {
    return this.receipts?.get(conversationId)?.[kind] ?? 0
  }

  /** Sends a frame; returns false when the socket is gone. */
  send(frame: ServerFrame): boolean {
    return this.socket.send(JSON.stringify(frame))
  }

  sendRaw(frame: string | Uint8Array): boolean {
    return this.socket.send(frame)
  }

  error(
    code: ErrorCode,
    rid?: string,
    message?: string,
    extra?: { details?: string[]; retryAfterMs?: number },
  ) {
    const body: ErrorBody = errorBody(code, message, extra)
    return this.send({ type: 'error', ...(rid !== undefined ? { rid } : {}), ...body })
  }

  close(name: keyof typeof CLOSE_CODES, reason = ''): void {
    this.socket.close(CLOSE_CODES[name].code, reason)
  }

  closeSlow(reason: string): void {
    this.close('SLOW_CONSUMER', reason)
  }

  closeFailed(reason: string): void {
    this.close('INTERNAL', reason)
  }
}
