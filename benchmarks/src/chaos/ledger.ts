/**
 * What a chaos run saw, from the application's side (the client library's promises and events),
 * and the invariants checked on it. Pure bookkeeping: the orchestration feeds it, the report
 * reads `judge()`.
 */
export type FaultKind = 'gateway' | 'projector' | 'media-worker' | 'nats'

export interface Fault {
  kind: FaultKind
  target: string
  /** performance.now() of the kill. */
  at: number
  /** Whether the target was the leader of a stream carrying load (nats only). */
  leader?: boolean
}

interface Sent {
  conversationId: string
  sender: string
  clientMsgId: string
  sentAt: number
  ackedAt?: number
  seq?: number
  n?: number
  failed?: string
  /** device → when it was delivered there (first time). */
  deliveredAt: Map<string, number>
}

export interface Verdicts {
  sent: number
  acked: number
  /** Sends whose promise rejected: each one reached the application as an error. */
  failed: number
  failedCodes: Record<string, number>
  /** Acknowledged messages some member device never received. */
  lost: number
  /** A device received the same message twice (same seq, or the same send stored twice). */
  duplicated: number
  /** A device received a conversation's messages out of `seq` / `n` order. */
  reordered: number
  /** Acknowledged messages still not delivered everywhere (meaningful only before the drain). */
  pendingDeliveries: number
  /** Per fault kind: the longest send → last-member-delivered of the messages that reached everyone after it (and before the next). */
  longestPauseMs: Partial<Record<FaultKind, number>>
  /**
   * Per 5 s of the run (by send time): sends, and the worst send → ack and ack → last member,
   * to tell a pause in storing (the log, a gateway's retries) from one in delivering (reconnects).
   */
  timeline: { fromS: number; sends: number; maxAckMs: number; maxDeliverMs: number }[]
  examples: string[]
}

export class Ledger {
  private readonly sends = new Map<string, Sent>()
  /** device → conversation → last (seq, n) received. */
  private readonly lastSeen = new Map<string, Map<string, { seq: number; n: number }>>()
  /** device → seqs received per conversation (to catch a second delivery). */
  private readonly seen = new Map<string, Set<string>>()
  private duplicated = 0
  private reordered = 0
  private readonly examples: string[] = []
  readonly faults: Fault[] = []

  constructor(
    /** Member devices of each conversation (who must receive every message of it). */
    private readonly members: ReadonlyMap<string, readonly string[]>,
  ) {}

  private key = (conversationId: string, clientMsgId: string) => `${conversationId}/${clientMsgId}`

  private note(example: string) {
    if (this.examples.length < 20) this.examples.push(example)
  }

  sent(conversationId: string, sender: string, clientMsgId: string, at: number): void {
    this.sends.set(this.key(conversationId, clientMsgId), {
      conversationId,
      sender,
      clientMsgId,
      sentAt: at,
      deliveredAt: new Map(),
    })
  }

  acked(conversationId: string, clientMsgId: string, seq: number, n: number, at: number): void {
    const s = this.sends.get(this.key(conversationId, clientMsgId))
    if (!s) return
    if (s.seq !== undefined && s.seq !== seq) {
      this.duplicated++
      this.note(`${clientMsgId} acknowledged as ${s.seq} and as ${seq}`)
    }
    s.ackedAt ??= at
    s.seq = seq
    s.n = n
  }

  failed(conversationId: string, clientMsgId: string, code: string): void {
    const s = this.sends.get(this.key(conversationId, clientMsgId))
    if (s) s.failed = code
  }

  /** A message event a device's client library emitted. */
  delivered(
    device: string,
    conversationId: string,
    seq: number,
    n: number,
    clientMsgId: string,
    at: number,
  ): void {
    const seenKey = `${conversationId}/${seq}`
    const seen = this.seen.get(device) ?? new Set<string>()
    this.seen.set(device, seen)
    if (seen.has(seenKey)) {
      this.duplicated++
      this.note(`${device} got ${conversationId} seq ${seq} twice`)
      return
    }
    seen.add(seenKey)
    const per = this.lastSeen.get(device) ?? new Map<string, { seq: number; n: number }>()
    this.lastSeen.set(device, per)
    const last = per.get(conversationId)
    if (last && (seq <= last.seq || n <= last.n)) {
      this.reordered++
      this.note(`${device} got ${conversationId} n ${n} (seq ${seq}) after n ${last.n} (seq ${last.seq})`)
    }
    if (!last || seq > last.seq) per.set(conversationId, { seq, n })
    const s = this.sends.get(this.key(conversationId, clientMsgId))
    if (!s) return
    if (s.seq !== undefined && s.seq !== seq) {
      this.duplicated++
      this.note(`${clientMsgId} delivered to ${device} as seq ${seq}, acknowledged as ${s.seq}`)
    }
    if (!s.deliveredAt.has(device)) s.deliveredAt.set(device, at)
  }

  /** (seq, n) of every acknowledged send, per conversation (for the log audit). */
  ackedByConversation(): Map<string, { seq: number; n: number }[]> {
    const out = new Map<string, { seq: number; n: number }[]>()
    for (const s of this.sends.values()) {
      if (s.seq === undefined || s.n === undefined) continue
      const list = out.get(s.conversationId) ?? []
      list.push({ seq: s.seq, n: s.n })
      out.set(s.conversationId, list)
    }
    return out
  }

  fault(f: Fault): void {
    this.faults.push(f)
  }

  /** Acknowledged messages not yet delivered to every member device. */
  outstanding(): number {
    let n = 0
    for (const s of this.sends.values()) {
      if (s.seq === undefined) continue
      const devices = this.members.get(s.conversationId) ?? []
      if (devices.some((d) => !s.deliveredAt.has(d))) n++
    }
    return n
  }

  judge(): Verdicts {
    let acked = 0
    let failed = 0
    let lost = 0
    const failedCodes: Record<string, number> = {}
    const longest: Partial<Record<FaultKind, number>> = {}
    const faults = [...this.faults].sort((a, b) => a.at - b.at)
    const faultBefore = (t: number): Fault | undefined => {
      let f: Fault | undefined
      for (const x of faults) if (x.at <= t) f = x
      return f
    }
    const t0 = Math.min(...[...this.sends.values()].map((s) => s.sentAt))
    const buckets = new Map<
      number,
      { fromS: number; sends: number; maxAckMs: number; maxDeliverMs: number }
    >()
    for (const s of this.sends.values()) {
      if (s.failed !== undefined && s.seq === undefined) {
        failed++
        failedCodes[s.failed] = (failedCodes[s.failed] ?? 0) + 1
        continue
      }
      if (s.seq === undefined) continue
      acked++
      const devices = this.members.get(s.conversationId) ?? []
      const missing = devices.filter((d) => !s.deliveredAt.has(d))
      if (missing.length > 0) {
        lost++
        this.note(`${s.clientMsgId} (seq ${s.seq}) never reached ${missing.join(', ')}`)
        continue
      }
      const last = Math.max(...devices.map((d) => s.deliveredAt.get(d)!))
      const k = Math.floor((s.sentAt - t0) / 5000)
      const b = buckets.get(k) ?? { fromS: k * 5, sends: 0, maxAckMs: 0, maxDeliverMs: 0 }
      b.sends++
      const ackAt = s.ackedAt ?? s.sentAt
      b.maxAckMs = Math.max(b.maxAckMs, Math.round(ackAt - s.sentAt))
      b.maxDeliverMs = Math.max(b.maxDeliverMs, Math.round(last - ackAt))
      buckets.set(k, b)
      // The last fault before the message reached everyone: one sent after a harmless fault and
      // held up by the next one is that next fault's pause.
      const f = faultBefore(last)
      if (f) longest[f.kind] = Math.max(longest[f.kind] ?? 0, last - s.sentAt)
    }
    return {
      sent: this.sends.size,
      acked,
      failed,
      failedCodes,
      lost,
      duplicated: this.duplicated,
      reordered: this.reordered,
      pendingDeliveries: this.outstanding(),
      longestPauseMs: longest,
      timeline: [...buckets.values()].sort((a, b) => a.fromS - b.fromS),
      examples: [...this.examples],
    }
  }
}
