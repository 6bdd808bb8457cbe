import { conversationOf, type PendingRequest } from './request-table.js'

interface Chain {
  /** The conversation's unanswered sends in the order the app made them; `queue[0]` is the head. */
  queue: PendingRequest[]
  /** Failed attempts of the head in a row (the backoff's exponent); 0 again for the next head. */
  failures: number
  /**
   * An attempt failed on this connection: the gateway may refuse the conversation's sends that
   * are not retries (the order rule), so every write of this chain must say `retry: true`.
   */
  refused: boolean
}

/**
 * Per conversation, whether its sends are pipelined (no chain) or go out one at a time (a chain),
 * and which one is next. Pure bookkeeping: the outbox writes and keeps the timers.
 *
 * A conversation gets a chain when its order is at risk:
 * - after a reconnect, for every conversation with unanswered sends: the gateway's `retry` path (a
 *   durable duplicate check first) does not keep the order of retries written together;
 * - when an attempt of one of its sends fails in a way a later attempt may not (a retryable
 *   refusal, or no answer in time): the gateway refuses every later send of the conversation
 *   that is not a retry, so they must all go again, in order, behind the failed one.
 *
 * In a chain only the head is ever on the wire; the next send is written once the head is
 * answered for good (stored, or refused for good, or given up). New sends queue at the end. When
 * the queue is empty the chain ends and sends are pipelined again. Guarantee: within a
 * conversation, no send is written by a chain before every send made before it is settled.
 */
export class SendChains {
  private readonly chains = new Map<string, Chain>()

  get size(): number {
    return this.chains.size
  }

  has(conversationId: string): boolean {
    return this.chains.has(conversationId)
  }

  /** Whether the conversation's writes must carry `retry: true` (see Chain.refused). */
  refused(conversationId: string): boolean {
    return this.chains.get(conversationId)?.refused === true
  }

  /** The conversation's sends in chain order (for tests and stats). */
  queued(conversationId: string): readonly PendingRequest[] {
    return this.chains.get(conversationId)?.queue ?? []
  }

  /** A new send: true when its conversation has a chain and it queued there (do not write it now). */
  enqueue(p: PendingRequest): boolean {
    const chain = this.chains.get(conversationOf(p))
    if (chain === undefined) return false
    chain.queue.push(p)
    return true
  }

  /**
   * An attempt of send `p` failed and a later one may succeed. `unanswered` is its conversation's
   * pending sends, oldest first (`p` among them): they become the chain if there is none yet.
   * Returns the head's failures in a row when `p` is the head (the caller waits, then calls
   * `due`); undefined when `p` waits behind an earlier send, whose answer comes first.
   */
  failed(p: PendingRequest, unanswered: readonly PendingRequest[]): number | undefined {
    const c = conversationOf(p)
    let chain = this.chains.get(c)
    if (chain === undefined) {
      chain = { queue: [...unanswered], failures: 0, refused: true }
      this.chains.set(c, chain)
    }
    chain.refused = true
    if (chain.queue[0] !== p) return undefined
    chain.failures += 1
    return chain.failures
  }

  /** The wait after a failure is over: the head to write again. */
  due(conversationId: string): PendingRequest | undefined {
    return this.chains.get(conversationId)?.queue[0]
  }

  /**
   * Send `p` is settled (answered, refused for good, given up). `wasHead` tells the caller to
   * drop any wait of the chain; `next` is the new head to write now — unless its earlier attempt
   * is still on the wire, whose answer is awaited instead (never two attempts of one send at once).
   */
  settled(p: PendingRequest): { wasHead: boolean; next: PendingRequest | undefined } {
    const c = conversationOf(p)
    const chain = this.chains.get(c)
    const i = chain === undefined ? -1 : chain.queue.indexOf(p)
    if (chain === undefined || i < 0) return { wasHead: false, next: undefined }
    chain.queue.splice(i, 1)
    if (i > 0) return { wasHead: false, next: undefined }
    chain.failures = 0
    const head = chain.queue[0]
    if (head === undefined) this.chains.delete(c)
    return { wasHead: true, next: head?.answerBy === undefined ? head : undefined }
  }

  /**
   * A new connection: one chain per conversation over the unanswered `sends` (oldest first).
   * Returns the heads to write now.
   */
  restart(sends: readonly PendingRequest[]): PendingRequest[] {
    this.chains.clear()
    for (const p of sends) {
      const c = conversationOf(p)
      const chain = this.chains.get(c)
      if (chain === undefined) this.chains.set(c, { queue: [p], failures: 0, refused: false })
      else chain.queue.push(p)
    }
    return [...this.chains.values()].map((chain) => chain.queue[0]!)
  }

  /** The connection is gone: what was on it is lost, and the next connection restarts the chains. */
  clear(): void {
    this.chains.clear()
  }
}
