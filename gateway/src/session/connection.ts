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
  /**
   * Conversations whose last send on this connection failed with a retryable code: later sends
   * to them are refused until the failed one is resent (`retry: true`), so a user's sends are
   * stored in the order they were made (see command/send.ts). Created on first use.
   */
  blocked: Map<string, ErrorCode> | undefined

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

  /** Sends a frame; returns false when the socket is gone. */
  send(frame: ServerFrame): boolean {
    return this.socket.send(JSON.stringify(frame))
  }

  sendRaw(text: string): boolean {
    return this.socket.send(text)
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
}
