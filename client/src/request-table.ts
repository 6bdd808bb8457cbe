import type { ClientFrame } from '@chatapp/contracts'

/**
 * Requests waiting for their answer, by `rid`: sends (answered by `sent`), commands (`ok`),
 * pings (`pong`) and resyncs (`synced`). No I/O and no timers: the client passes the time in.
 *
 * Ordering: a Map iterates in insertion order, and every entry gets the same timeout, so
 * deadlines ascend along the map and expiry only looks at its front. Resending keeps an entry's
 * place and deadline, so after a reconnect sends go out in the order the app made them.
 */
export type RequestKind = 'send' | 'command' | 'ping' | 'sync'

export interface PendingRequest {
  readonly rid: string
  readonly kind: RequestKind
  readonly frame: ClientFrame
  /** Sent again after a reconnect (sends, and commands that are idempotent on the server). */
  readonly resend: boolean
  readonly deadline: number
  /** Written to some socket already: a resend must carry `retry: true`. */
  written: boolean
  readonly startedAt: number
  resolve(value: unknown): void
  reject(error: Error): void
}

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

  /** False when the table is full: the caller refuses the request (bounded memory). */
  add(entry: PendingRequest): boolean {
    if (this.pending.size >= this.max) return false
    this.pending.set(entry.rid, entry)
    return true
  }

  has(rid: string): boolean {
    return this.pending.has(rid)
  }

  /** Removes and returns the request an answer names; undefined for an unknown or settled rid. */
  take(rid: string): PendingRequest | undefined {
    const p = this.pending.get(rid)
    if (p !== undefined) this.pending.delete(rid)
    return p
  }

  /** Removes and returns the requests whose deadline passed. */
  expire(now: number): PendingRequest[] {
    const out: PendingRequest[] = []
    for (const p of this.pending.values()) {
      if (p.deadline > now) break
      out.push(p)
    }
    for (const p of out) this.pending.delete(p.rid)
    return out
  }

  /**
   * After a connection is lost: removes and returns what will not be resent (pings, and commands
   * whose repetition would do something twice); what stays is returned by `toResend`.
   */
  dropUnresendable(): PendingRequest[] {
    const out: PendingRequest[] = []
    for (const p of this.pending.values()) if (!p.resend) out.push(p)
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
