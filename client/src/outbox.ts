import type { ClientFrame, ClientFrameOf } from '@chatapp/contracts'
import type { BackoffOptions } from './backoff.js'
import { ChatClientError } from './errors.js'
import { conversationOf, type PendingRequest, type RequestKind, RequestTable } from './request-table.js'
import { retriesOn, retryDelay } from './retry-policy.js'
import { SendChains } from './send-chains.js'
import { unref } from './unref.js'

/** A client frame before the outbox gives it its `rid`. */
export type FrameWithoutRid<F> = F extends { rid?: unknown } ? Omit<F, 'rid'> : F

export interface OutboxOptions {
  /** Unanswered requests at most (bounded memory); more fail at once with OUTBOX_FULL. */
  max: number
  /** One attempt on a live connection unanswered this long counts as lost. */
  attemptTimeoutMs: number
  /** Sends and commands not settled this long after the call fail with CLIENT_TIMEOUT. */
  giveUpAfterMs: number
  /** Waits before writing a refused request again when the server named none. */
  retryBackoff: BackoffOptions
  random?: (() => number) | undefined
  write: (frame: ClientFrame) => void
  /** Called for every write of a request written before (after a drop, a refusal, a lost answer). */
  resent?: () => void
}

/**
 * Requests in flight: gives each a `rid`, writes it when a connection is up, writes it again
 * when that can still succeed, and settles it once (ADR 0060, ADR 0120). The bookkeeping is pure
 * (RequestTable, SendChains, retry-policy); this adds the promises and the timers.
 *
 * A send or an idempotent command settles only with a success, a refusal that is not retryable,
 * `close()` (or the session ending), or after `giveUpAfterMs`. A retryable refusal, or an attempt
 * unanswered for `attemptTimeoutMs`, means "write it again": after the server's `retryAfterMs`
 * or a backoff, on the same connection, or after the next `hello` if the connection is gone.
 * Sends keep their conversation's order through SendChains; other conversations are not held.
 */
export class Outbox {
  private readonly table: RequestTable
  private readonly chains = new SendChains()
  /** Conversations whose chain waits before writing its head again. */
  private readonly chainWaits = new Map<string, NodeJS.Timeout>()
  /** Commands waiting to be written again, by rid. */
  private readonly commandWaits = new Map<string, NodeJS.Timeout>()
  /** Between `online()` (a connection got `hello`) and `offline()`. */
  private connected = false
  private sweepTimer: NodeJS.Timeout | undefined

  constructor(private readonly o: OutboxOptions) {
    this.table = new RequestTable(o.max)
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
  /** Whether this outbox handed out `rid`, pending or settled. */
  issued(rid: string): boolean {
    return this.table.issued(rid)
  }
  /** Conversations whose sends currently go out one at a time. */
  get chained(): number {
    return this.chains.size
  }

  /** Settles with the answer's value. `resend`: doing it twice does nothing twice on the server. */
  request(kind: RequestKind, frame: FrameWithoutRid<ClientFrame>, resend: boolean): Promise<unknown> {
    const rid = this.table.nextRid()
    const full = { ...frame, rid } as ClientFrame
    return new Promise((resolve, reject) => {
      const now = Date.now()
      // Pings and resyncs belong to one connection: their whole life is one attempt.
      const life = kind === 'ping' || kind === 'sync' ? this.o.attemptTimeoutMs : this.o.giveUpAfterMs
      const p: PendingRequest = {
        rid,
        kind,
        frame: full,
        resend,
        giveUpAt: now + life,
        written: false,
        answerBy: undefined,
        failures: 0,
        startedAt: now,
        resolve,
        reject,
      }
      if (!this.table.add(p)) {
        reject(new ChatClientError('OUTBOX_FULL', `${this.table.max} requests unanswered`))
        return
      }
      const queued = kind === 'send' && this.chains.enqueue(p)
      if (!queued && this.connected) this.writeRequest(p)
      this.ensureSweep()
    })
  }

  /** A success answered `rid`: removes the request (the caller resolves it); a chain moves on. */
  take(rid: string): PendingRequest | undefined {
    const p = this.table.take(rid)
    if (p !== undefined) this.settled(p)
    return p
  }

  /**
   * An error frame answered `rid`: the request is rejected, or written again later when the code
   * and the request allow it (retry-policy). False when no pending request has this rid.
   */
  refuse(rid: string, err: ChatClientError): boolean {
    const p = this.table.get(rid)
    if (p === undefined) return false
    if (retriesOn(p, err.code)) {
      this.attemptFailed(p, err.retryAfterMs)
      return true
    }
    this.table.take(rid)
    p.reject(err)
    this.settled(p)
    return true
  }

  /**
   * A new connection is authenticated: commands go out at once, sends as one chain per
   * conversation (see SendChains), each in the order it was made.
   */
  online(): void {
    this.connected = true
    const sends: PendingRequest[] = []
    for (const p of this.table.all()) {
      if (p.kind === 'send') sends.push(p)
      else this.writeRequest(p)
    }
    for (const head of this.chains.restart(sends)) this.writeRequest(head)
  }

  /** The connection dropped: nothing is on the wire any more; what is not resent fails with `err`. */
  offline(err: ChatClientError): void {
    this.connected = false
    this.cancelWaits()
    this.chains.clear()
    for (const p of this.table.dropUnresendable()) p.reject(err)
  }

  /** The client closed: everything fails with `err`. */
  failAll(err: ChatClientError): void {
    this.connected = false
    clearInterval(this.sweepTimer)
    this.sweepTimer = undefined
    this.cancelWaits()
    this.chains.clear()
    for (const p of this.table.clear()) p.reject(err)
  }

  /** An attempt of `p` failed and another may succeed: schedule it (sends through their chain). */
  private attemptFailed(p: PendingRequest, retryAfterMs: number | undefined): void {
    p.answerBy = undefined
    if (!this.connected) return // the next connection writes it again
    const random = this.o.random
    if (p.kind !== 'send') {
      if (this.commandWaits.has(p.rid)) return
      p.failures += 1
      const delay = retryDelay(p.failures, retryAfterMs, this.o.retryBackoff, random)
      this.commandWaits.set(
        p.rid,
        this.timer(delay, () => {
          this.commandWaits.delete(p.rid)
          if (this.table.has(p.rid) && this.connected) this.writeRequest(p)
        }),
      )
      return
    }
    const c = conversationOf(p)
    if (this.chainWaits.has(c)) return // a stale answer: the head's next attempt is already due
    const failures = this.chains.failed(p, this.table.sendsOf(c))
    if (failures === undefined) return // it waits behind an earlier send of the conversation
    const delay = retryDelay(failures, retryAfterMs, this.o.retryBackoff, random)
    this.chainWaits.set(
      c,
      this.timer(delay, () => {
        this.chainWaits.delete(c)
        const head = this.chains.due(c)
        if (head !== undefined && this.connected) this.writeRequest(head)
      }),
    )
  }

  /** `p` left the table: its wait ends, and a chain whose head it was moves on. */
  private settled(p: PendingRequest): void {
    const wait = this.commandWaits.get(p.rid)
    if (wait !== undefined) {
      clearTimeout(wait)
      this.commandWaits.delete(p.rid)
    }
    if (p.kind !== 'send') return
    const c = conversationOf(p)
    const { wasHead, next } = this.chains.settled(p)
    if (wasHead) {
      clearTimeout(this.chainWaits.get(c))
      this.chainWaits.delete(c)
    }
    if (next !== undefined && this.connected) this.writeRequest(next)
  }

  /**
   * `retry: true` on a send written before (the server answers its original sequence), and on
   * every send of a chain that met a refusal on this connection: the gateway then refuses the
   * conversation's sends until one with `retry: true` arrives, and a chain's head may follow one
   * that was given up while still refused.
   */
  private writeRequest(p: PendingRequest): void {
    if (p.kind === 'send' && (p.written || this.chains.refused(conversationOf(p))))
      (p.frame as ClientFrameOf<'send'>).retry = true
    if (p.written) this.o.resent?.()
    p.written = true
    p.answerBy = Date.now() + this.o.attemptTimeoutMs
    this.o.write(p.frame)
  }

  private timer(ms: number, fn: () => void): NodeJS.Timeout {
    return unref(setTimeout(fn, ms))
  }

  private cancelWaits(): void {
    for (const t of this.chainWaits.values()) clearTimeout(t)
    for (const t of this.commandWaits.values()) clearTimeout(t)
    this.chainWaits.clear()
    this.commandWaits.clear()
  }

  /**
   * One interval per client (not a timer per request) ends what waited too long: a request past
   * its give-up time fails with CLIENT_TIMEOUT; an attempt unanswered past `attemptTimeoutMs` is
   * written again when repeating is harmless, and fails otherwise (the outcome is unknown).
   */
  private ensureSweep(): void {
    if (this.sweepTimer !== undefined) return
    const shortest = Math.min(this.o.attemptTimeoutMs, this.o.giveUpAfterMs)
    const every = Math.max(5, Math.min(1000, Math.floor(shortest / 4)))
    this.sweepTimer = unref(setInterval(() => this.sweep(Date.now()), every))
  }

  private sweep(now: number): void {
    for (const p of this.table.expire(now)) {
      const life = p.giveUpAt - p.startedAt
      p.reject(new ChatClientError('CLIENT_TIMEOUT', `${p.frame.type} not settled in ${life} ms`))
      this.settled(p)
    }
    for (const p of this.table.unanswered(now)) {
      if (p.resend) {
        this.attemptFailed(p, undefined)
        continue
      }
      this.table.take(p.rid)
      p.reject(
        new ChatClientError(
          'CLIENT_TIMEOUT',
          `no answer to ${p.frame.type} in ${this.o.attemptTimeoutMs} ms`,
        ),
      )
      this.settled(p)
    }
    if (this.table.size === 0) {
      clearInterval(this.sweepTimer)
      this.sweepTimer = undefined
    }
  }
}
