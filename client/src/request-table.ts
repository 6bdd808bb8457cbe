import type { ClientFrame, ClientFrameOf } from '@chatapp/contracts'

/**
 * Requests waiting for their answer, by `rid`: sends (answered by `sent`), commands (`ok`),
 * pings (`pong`) and resyncs (`synced`). No I/O and no timers: the client passes the time in.
 *
 * Ordering: a Map iterates in insertion order, and a request keeps its place however often it is
 * written again, so "oldest first" is always the order the app made its requests in — which is
 * the order a conversation's sends must be stored in.
 */
export type RequestKind = 'send' | 'command' | 'ping' | 'sync'

export interface PendingRequest {
  readonly rid: string
  readonly kind: RequestKind
  readonly frame: ClientFrame
  /**
   * Doing it twice does nothing twice (sends, by `clientMsgId`; idempotent commands): written again
   * after a reconnect and after a retryable refusal.
   */
  readonly resend: boolean
  /** The app gets CLIENT_TIMEOUT if nothing settled the request by then. */
  readonly giveUpAt: number
  /** Written to some socket already: a resend must carry `retry: true`. */
  written: boolean
  /** While an attempt is on the wire unanswered: when it counts as lost. Undefined otherwise. */
  answerBy: number | undefined
  /** Refused or unanswered attempts in a row: the exponent of a command's retry backoff. */
  failures: number
  readonly startedAt: number
  resolve(value: unknown): void
  reject(error: Error): void
}

export const conversationOf = (p: PendingRequest): string => (p.frame as ClientFrameOf<'send'>).conversationId

export class RequestTable {
  private readonly pending = new Map<string, PendingRequest>()
  private next = 0

  constructor(readonly max: number) {}

  get size(): number {
    return this.pending.size
  }

  /** A fresh request id, unique within this client. */
  nextRid(): string {
    this.next += 1
    return this.next.toString(36)
  }

  /** Whether this table handed out `rid` (pending or settled long ago). */
  issued(rid: string): boolean {
    if (!/^[0-9a-z]{1,12}$/.test(rid)) return false
    const n = Number.parseInt(rid, 36)
    return n >= 1 && n <= this.next
  }

  /** False when the table is full: the caller refuses the request (bounded memory). */
  add(entry: PendingRequest): boolean {
    if (this.pending.size >= this.max) return false
    this.pending.set(entry.rid, entry)
    return true
  }

  has(rid: string): boolean {
    return this.pending.has(rid)
  }

  get(rid: string): PendingRequest | undefined {
    return this.pending.get(rid)
  }

  /** Removes and returns the request an answer names; undefined for an unknown or settled rid. */
  take(rid: string): PendingRequest | undefined {
    const p = this.pending.get(rid)
    if (p !== undefined) this.pending.delete(rid)
    return p
  }

  /** Removes and returns the requests whose give-up time passed, oldest first. */
  expire(now: number): PendingRequest[] {
    // Give-up times differ by kind, so they do not ascend along the map: a full scan, which the
    // table's bound keeps cheap (at most `max` entries, once per sweep).
    const out: PendingRequest[] = []
    for (const p of this.pending.values()) if (p.giveUpAt <= now) out.push(p)
    for (const p of out) this.pending.delete(p.rid)
    return out
  }

  /** The requests whose attempt on the wire went unanswered past `answerBy` (they stay pending). */
  unanswered(now: number): PendingRequest[] {
    const out: PendingRequest[] = []
    for (const p of this.pending.values()) if (p.answerBy !== undefined && p.answerBy <= now) out.push(p)
    return out
  }

  /** The pending sends of one conversation, oldest first. */
  sendsOf(conversationId: string): PendingRequest[] {
    const out: PendingRequest[] = []
    for (const p of this.pending.values())
      if (p.kind === 'send' && conversationOf(p) === conversationId) out.push(p)
    return out
  }

  /**
   * After a connection is lost: removes and returns what will not be resent (pings, resyncs, and
   * commands whose repetition would do something twice); what stays is returned by `all`. No
   * attempt is on the wire any more.
   */
  dropUnresendable(): PendingRequest[] {
    const out: PendingRequest[] = []
    for (const p of this.pending.values()) {
      p.answerBy = undefined
      if (!p.resend) out.push(p)
    }
    for (const p of out) this.pending.delete(p.rid)
    return out
  }

  /** Everything still pending, oldest first. */
  all(): PendingRequest[] {
    return [...this.pending.values()]
  }

  /** Removes and returns everything (on close). */
  clear(): PendingRequest[] {
    const out = [...this.pending.values()]
    this.pending.clear()
    return out
  }
}
