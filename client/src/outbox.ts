import type { ClientFrame, ClientFrameOf } from '@chatapp/contracts'
import { ChatClientError } from './errors.js'
import { type PendingRequest, type RequestKind, RequestTable } from './request-table.js'

/** A client frame before the outbox gives it its `rid`. */
export type FrameWithoutRid<F> = F extends { rid?: unknown } ? Omit<F, 'rid'> : F

/** After a reconnect, a conversation's pending sends go out one at a time, in order. */
interface Chain {
  queue: PendingRequest[]
  next: number
  /** The rid of the chain's send on the wire. */
  head: string | undefined
}

const conversationOf = (p: PendingRequest): string => (p.frame as ClientFrameOf<'send'>).conversationId

/**
 * Requests in flight: gives each a `rid`, writes it when a connection is up, writes it again
 * after a reconnect (`retry: true` on a send already written once), and fails it after the
 * timeout. The bookkeeping is the pure RequestTable; this adds the promise and the one timer.
 *
 * Order: the first connection pipelines sends, and the gateway stores a conversation's sends in
 * the order they arrive. After a reconnect, though, retried sends take a slower path on the
 * gateway (a durable duplicate check) that does not keep their order, so each conversation's
 * pending sends are replayed one at a time — the next once the previous is answered — and new
 * sends to that conversation queue behind them. Other conversations proceed in parallel.
 */
export class Outbox {
  private readonly table: RequestTable
  private readonly chains = new Map<string, Chain>()
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
  /** Removes the request an answer names; a chain whose head it was moves on. */
  take(rid: string): PendingRequest | undefined {
    const p = this.table.take(rid)
    if (p !== undefined) this.settled(p)
    return p
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
      const chain = kind === 'send' ? this.chains.get(conversationOf(p)) : undefined
      if (chain !== undefined) chain.queue.push(p)
      else if (connected) this.writeRequest(p)
      this.ensureSweep()
    })
  }

  /**
   * A new connection is authenticated: commands go out at once, sends as one chain per
   * conversation (see the class comment), each in the order it was made.
   */
  resendAll(): void {
    this.chains.clear()
    for (const p of this.table.all()) {
      if (p.kind !== 'send') {
        this.writeRequest(p)
        continue
      }
      const c = conversationOf(p)
      const chain = this.chains.get(c)
      if (chain === undefined) this.chains.set(c, { queue: [p], next: 0, head: undefined })
      else chain.queue.push(p)
    }
    for (const c of [...this.chains.keys()]) this.advance(c)
  }

  /** The connection dropped: what is not resent fails with `err`. */
  failUnresendable(err: ChatClientError): void {
    this.chains.clear()
    for (const p of this.table.dropUnresendable()) p.reject(err)
  }

  /** The client closed: everything fails with `err`. */
  failAll(err: ChatClientError): void {
    clearInterval(this.sweepTimer)
    this.sweepTimer = undefined
    this.chains.clear()
    for (const p of this.table.clear()) p.reject(err)
  }

  private settled(p: PendingRequest): void {
    if (p.kind !== 'send') return
    const c = conversationOf(p)
    if (this.chains.get(c)?.head === p.rid) this.advance(c)
  }

  /** Writes the chain's next send still pending; ends the chain when none is left. */
  private advance(conversationId: string): void {
    const chain = this.chains.get(conversationId)
    if (chain === undefined) return
    while (chain.next < chain.queue.length) {
      const p = chain.queue[chain.next]!
      chain.next += 1
      if (!this.table.has(p.rid)) continue // timed out meanwhile
      chain.head = p.rid
      this.writeRequest(p)
      return
    }
    this.chains.delete(conversationId)
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
        this.settled(p)
      }
      if (this.table.size === 0) {
        clearInterval(this.sweepTimer)
        this.sweepTimer = undefined
      }
    }, every)
    this.sweepTimer.unref()
  }
}
