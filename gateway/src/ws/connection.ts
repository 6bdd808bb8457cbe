import { CLOSE_CODES, type ErrorBody, type ErrorCode, errorBody, type ServerFrame } from '@chatapp/contracts'
import type { Principal } from '../ports.js'
import type { Socket } from './socket.js'
import type { TokenBucket } from './token-bucket.js'

/**
 * One WebSocket session, transport-free. Kept small on purpose (an idle connection should cost
 * a few KiB): per-user and per-conversation structures live in the hub and are shared.
 */
export class Connection {
  principal: Principal | undefined
  /** True once `synced` was sent: from then on live events flow to it. */
  synced = false
  /** Rooms (conversation ids) this connection receives live events of. */
  readonly rooms = new Set<string>()
  /** Consecutive frames refused by the rate limiter: past a bound the socket is closed (4429). */
  strikes = 0
  authTimer: NodeJS.Timeout | undefined

  constructor(
    readonly socket: Socket,
    readonly id: number,
    readonly bucket: TokenBucket,
  ) {}

  get userId(): string {
    return this.principal?.userId ?? ''
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
}
