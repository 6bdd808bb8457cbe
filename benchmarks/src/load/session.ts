import { SUBPROTOCOL } from '@chatapp/client'
import type { ClientFrame, ServerFrame, ServerFrameOf } from '@chatapp/contracts'
import WebSocket from 'ws'

/**
 * A bare device connection for the `connections` scenario, which must choose its source address
 * (`localAddress`), something @chatapp/client does not expose: authenticate, sync, sit. It
 * de-duplicates redelivered events by sequence per lane, as the protocol asks every client to.
 */
export type EventFrame = ServerFrameOf<'event'>

export interface SessionOptions {
  wsUrl: string
  token: string
  localAddress?: string
  onEvent: (e: EventFrame, live: boolean) => void
  onClose?: (code: number) => void
  timeoutMs?: number
}

/** A client frame without its request id, which `request` assigns. */
type Command = ClientFrame extends infer F ? (F extends unknown ? Omit<F, 'rid'> : never) : never

type Reply = ServerFrameOf<'sent'> | ServerFrameOf<'ok'> | ServerFrameOf<'error'>

export class Session {
  private ws: WebSocket | undefined
  private readonly pending = new Map<string, (f: Reply) => void>()
  private nextRid = 0
  /** Highest sequence seen per `<conversation>.<lane>`: the protocol delivers at least once. */
  private readonly highest = new Map<string, number>()
  /** Per conversation, the highest sequence processed: the cursors a reconnect syncs from. */
  readonly cursors = new Map<string, number>()
  redelivered = 0
  private syncing = false
  private syncDone: ((f: ServerFrameOf<'synced'>) => void) | undefined
  private helloDone: ((f: ServerFrameOf<'hello'>) => void) | undefined
  userId = ''

  constructor(private readonly o: SessionOptions) {}

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN
  }

  /** Connects and authenticates; resolves with `hello`. */
  connect(): Promise<ServerFrameOf<'hello'>> {
    const timeoutMs = this.o.timeoutMs ?? 15_000
    return new Promise((resolve, reject) => {
      // Authenticated in the upgrade, as @chatapp/client does by default.
      const ws = new WebSocket(this.o.wsUrl, [SUBPROTOCOL, `bearer.${this.o.token}`], {
        perMessageDeflate: false,
        ...(this.o.localAddress ? { localAddress: this.o.localAddress } : {}),
      })
      this.ws = ws
      const timer = setTimeout(() => {
        reject(new Error(`no hello within ${timeoutMs} ms`))
        ws.terminate()
      }, timeoutMs)
      this.helloDone = (h) => {
        clearTimeout(timer)
        this.userId = h.userId
        resolve(h)
      }
      ws.on('message', (data) => this.onMessage(data as Buffer))
      ws.on('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
      ws.on('close', (code) => {
        clearTimeout(timer)
        reject(new Error(`closed with ${code} before hello`))
        for (const [, done] of this.pending)
          done({ type: 'error', code: 'UNAVAILABLE', message: 'connection closed', retryable: true } as Reply)
        this.pending.clear()
        this.o.onClose?.(code)
      })
    })
  }

  /** Sends `sync` with the cursors held; events that arrive before `synced` are not live. */
  sync(tail = 0, timeoutMs = 30_000): Promise<ServerFrameOf<'synced'>> {
    this.syncing = true
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no synced within ${timeoutMs / 1000} s`)), timeoutMs)
      this.syncDone = (f) => {
        clearTimeout(timer)
        this.syncing = false
        resolve(f)
      }
      this.raw({ type: 'sync', rid: 'sync', cursors: Object.fromEntries(this.cursors), tail })
    })
  }

  /** A command with a request id; resolves with its `sent`, `ok` or `error`, or an error after the timeout. */
  request(frame: Command): Promise<Reply> {
    const rid = `r${++this.nextRid}`
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid)
        resolve({
          type: 'error',
          rid,
          code: 'TIMEOUT',
          message: 'no reply',
          retryable: true,
        } as unknown as Reply)
      }, this.o.timeoutMs ?? 15_000)
      this.pending.set(rid, (f) => {
        clearTimeout(timer)
        resolve(f)
      })
      this.raw({ ...frame, rid } as ClientFrame)
    })
  }

  /** Fire and forget (receipts, typing). */
  raw(frame: ClientFrame): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame))
  }

  close(): void {
    this.ws?.close(1000)
  }

  /** Drops the connection without a close handshake, as a phone losing its network does. */
  kill(): void {
    this.ws?.terminate()
  }

  private onMessage(data: Buffer): void {
    let f: ServerFrame
    try {
      f = JSON.parse(data.toString('utf8')) as ServerFrame
    } catch {
      return
    }
    switch (f.type) {
      case 'event': {
        // The event of this connection's own send answers it (the protocol sends no `sent` then).
        if (f.rid !== undefined && f.event.type === 'message.sent') {
          const done = this.pending.get(f.rid)
          if (done) {
            this.pending.delete(f.rid)
            done({
              type: 'sent',
              rid: f.rid,
              conversationId: f.conversationId,
              clientMsgId: f.event.data.clientMsgId,
              seq: f.seq,
              n: f.event.data.n,
              at: f.event.at,
              duplicate: false,
            })
          }
        }
        const key = `${f.conversationId}.${f.lane}`
        if (f.seq <= (this.highest.get(key) ?? 0)) {
          this.redelivered++
          return
        }
        this.highest.set(key, f.seq)
        if (f.seq > (this.cursors.get(f.conversationId) ?? 0)) this.cursors.set(f.conversationId, f.seq)
        this.o.onEvent(f, !this.syncing)
        return
      }
      case 'sent':
      case 'ok':
      case 'error': {
        const done = f.rid ? this.pending.get(f.rid) : undefined
        if (done) {
          this.pending.delete(f.rid!)
          done(f)
        }
        return
      }
      case 'hello':
        this.helloDone?.(f)
        return
      case 'synced':
        this.syncDone?.(f)
        return
      case 'inbox':
      case 'typing':
      case 'presence':
      case 'invitation':
      case 'mute':
      case 'pong':
        return
      default: {
        const never: never = f
        throw new Error(`unhandled frame ${JSON.stringify(never)}`)
      }
    }
  }
}
