import type { ClientFrame, ClientFrameOf } from '@chatapp/contracts'
import { ChatClientError } from './errors.js'
import { type PendingRequest, type RequestKind, RequestTable } from './request-table.js'

/** A client frame before the outbox gives it its `rid`. */
export type FrameWithoutRid<F> = F extends { rid?: unknown } ? Omit<F, 'rid'> : F

/**
 * Requests in flight: gives each a `rid`, writes it when a connection is up, writes it again
 * after a reconnect (`retry: true` on a send already written once), and fails it after the
 * timeout. The bookkeeping is the pure RequestTable; this adds the promise and the one timer.
 */
export class Outbox {
  private readonly table: RequestTable
  private sweepTimer: NodeJS.Timeout | undefined

  constructor(
    max: number,
    private readonly timeoutMs: number,
    private readonly write: (frame: ClientFrame) => void,
  ) {
    this.table = new RequestTable(max)
  }

  get size(): number {
    return this.table.size
  }
  nextRid(): string {
    return this.table.nextRid()
  }
  has(rid: string): boolean {
    return this.table.has(rid)
  }
  take(rid: string): PendingRequest | undefined {
    return this.table.take(rid)
  }

  /** Settles with the answer's value; `connected` says whether to write it now or at the next hello. */
  request(
    kind: RequestKind,
    frame: FrameWithoutRid<ClientFrame>,
    resend: boolean,
    connected: boolean,
  ): Promise<unknown> {
    const rid = this.table.nextRid()
    const full = { ...frame, rid } as ClientFrame
    return new Promise((resolve, reject) => {
      const now = Date.now()
      const p: PendingRequest = {
        rid,
        kind,
        frame: full,
        resend,
        deadline: now + this.timeoutMs,
        written: false,
        startedAt: now,
        resolve,
        reject,
      }
      if (!this.table.add(p)) {
        reject(new ChatClientError('OUTBOX_FULL', `${this.table.max} requests unanswered`))
        return
      }
      if (connected) this.writeRequest(p)
      this.ensureSweep()
    })
  }

  /** A new connection is authenticated: everything pending goes out, in the order it was made. */
  resendAll(): void {
    for (const p of this.table.all()) this.writeRequest(p)
  }

  /** The connection dropped: what is not resent fails with `err`. */
  failUnresendable(err: ChatClientError): void {
    for (const p of this.table.dropUnresendable()) p.reject(err)
  }

  /** The client closed: everything fails with `err`. */
  failAll(err: ChatClientError): void {
    clearInterval(this.sweepTimer)
    this.sweepTimer = undefined
    for (const p of this.table.clear()) p.reject(err)
  }

  private writeRequest(p: PendingRequest): void {
    if (p.written && p.kind === 'send') (p.frame as ClientFrameOf<'send'>).retry = true
    p.written = true
    this.write(p.frame)
  }

  /** One interval per client (not a timer per request) expires unanswered requests. */
  private ensureSweep(): void {
    if (this.sweepTimer !== undefined) return
    const every = Math.max(5, Math.min(1000, Math.floor(this.timeoutMs / 4)))
    this.sweepTimer = setInterval(() => {
      for (const p of this.table.expire(Date.now())) {
        p.reject(
          new ChatClientError('CLIENT_TIMEOUT', `no answer to ${p.frame.type} in ${this.timeoutMs} ms`),
        )
      }
      if (this.table.size === 0) {
        clearInterval(this.sweepTimer)
        this.sweepTimer = undefined
      }
    }, every)
    this.sweepTimer.unref()
  }
}
