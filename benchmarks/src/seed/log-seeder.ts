import {
  type ChatEvent,
  DEFAULT_LIMITS,
  decodeEvent,
  encodeJson,
  laneOf,
  type Names,
} from '@chatapp/contracts'
import {
  type Command,
  type ConversationState,
  type DecideContext,
  decide,
  emptyState,
  evolve,
  snapshotCadence,
  toSnapshot,
} from '@chatapp/domain'
import { type ConversationLog, createConversationLog, type NatsConnection } from '@chatapp/kit'
import { Kvm } from '@nats-io/kv'
import { mapLimit } from '../load/accounts.js'

/**
 * A log of a million events in about a minute, written the way the gateways would have written
 * it, minus the sockets: each command goes through domain's `decide`, is appended with the
 * gateway's headers and expectation (kit's ConversationLog, the adapter the gateway appends
 * through), folded with `evolve` at the sequence JetStream gave it, and followed by a state
 * snapshot in the conv-state bucket at domain's `snapshotCadence` (the gateway's state store's
 * default: every 32 folded events for a direct conversation), so a gateway meets what it would
 * meet in production. The membership notices
 * of the user index are the projector's effects (ADR 0150): they exist once it has projected the
 * seeded log. Conversations are appended in parallel, each one's events in order.
 */
/** Direct conversations of a ring of users: user i talks with i+1 … i+perUser/2 (mod the count). */
export const ringPairs = (users: number, perUser: number): [number, number][] => {
  const out: [number, number][] = []
  for (let d = 1; d <= perUser / 2; d++) for (let i = 0; i < users; i++) out.push([i, (i + d) % users])
  return out
}

export interface SeededConversation {
  id: string
  members: [string, string]
  state: ConversationState
  sinceSnapshot: number
}

export interface SeedOptions {
  nc: NatsConnection
  names: Names
  userIds: string[]
  /** Even; each user gets this many direct conversations. */
  conversationsPerUser: number
  /** Events to write in total (conversation creations, messages, receipts). */
  events: number
  textBytes: number
  /** Makes conversation ids unique to the run. */
  tag: string
  /** Conversations being appended at once. */
  concurrency?: number
  onProgress?: (events: number) => void
}

export interface SeedResult {
  conversations: SeededConversation[]
  events: number
  snapshots: number
  seconds: number
}

/**
 * The next commands of a conversation: a message (the members take turns), and the peer's
 * receipts as a coalescing client sends them: delivered every other message, read every fourth.
 */
const scriptStep = (c: SeededConversation, textBytes: number): Command[] => {
  const k = c.state.n
  const [a, b] = c.members
  const sender = k % 2 === 0 ? a : b
  const peer = sender === a ? b : a
  const out: Command[] = [
    {
      type: 'send',
      actor: sender,
      deviceId: 'seed',
      clientMsgId: `seed-${k.toString().padStart(8, '0')}`,
      kind: 'text',
      text: `seeded message ${k + 1} `.padEnd(textBytes, '.'),
    },
  ]
  if (k % 2 === 1) out.push({ type: 'receipt', actor: peer, kind: 'delivered', upTo: -1 })
  if (k % 4 === 3) out.push({ type: 'receipt', actor: peer, kind: 'read', upTo: -1 })
  return out
}

export class LogSeeder {
  private log: ConversationLog | undefined
  private kv: Awaited<ReturnType<Kvm['open']>> | undefined
  private seq = 0
  events = 0
  snapshots = 0
  /** Event types whose shape was checked against the contracts (the first of each). */
  private readonly checked = new Set<string>()

  constructor(private readonly o: SeedOptions) {}

  private ctx(): DecideContext {
    return {
      now: Date.now(),
      newId: () => `seed-${this.o.tag}-${++this.seq}`,
      limits: {
        maxTextLength: 65_536,
        maxCaptionLength: 4096,
        maxGroupMembers: 1024,
        editWindowMs: DEFAULT_LIMITS.editWindowMs,
        deleteWindowMs: DEFAULT_LIMITS.deleteWindowMs,
      },
    }
  }

  private async open(): Promise<{ log: ConversationLog; kv: NonNullable<LogSeeder['kv']> }> {
    this.log ??= await createConversationLog(this.o.nc, this.o.names, { deadlineMs: 60_000 })
    this.kv ??= await new Kvm(this.o.nc).open(this.o.names.convStateBucket)
    return { log: this.log, kv: this.kv }
  }

  /** Decides, appends and folds one command; a snapshot follows at the gateway's cadence. */
  private async apply(c: SeededConversation, command: Command): Promise<void> {
    const { log, kv } = await this.open()
    const s = c.state
    // A receipt covers the messages so far.
    const cmd = command.type === 'receipt' ? { ...command, upTo: s.lastM } : command
    const d = decide(s, cmd, this.ctx())
    if (!d.ok) throw new Error(`seeding ${c.id}: ${cmd.type} refused with ${d.code} ${d.message ?? ''}`)
    for (const e of d.events) {
      // A shape no reader decodes would be skipped by all of them: check the first of each type.
      if (!this.checked.has(e.type)) {
        const x = decodeEvent(encodeJson(e))
        if (!x.ok) throw new Error(`seeding: ${e.type} does not decode: ${x.error.message}`)
        this.checked.add(e.type)
      }
      const lane = laneOf(e.type)
      const r = await log.append(
        e,
        lane === 'm' ? { expectLastSeq: s.lastM, ...(e.type === 'message.sent' ? { msgId: e.id } : {}) } : {},
      )
      if (!r.ok) throw new Error(`seeding ${c.id}: the append found another writer (${r.reason})`)
      const v = evolve(s, { seq: r.seq, lane, event: e as ChatEvent })
      if (v.kind !== 'accepted') throw new Error(`seeding ${c.id}: ${e.type} ${v.kind} by the fold`)
      this.events++
      c.sinceSnapshot++
      if (c.sinceSnapshot >= snapshotCadence(s.members.size)) {
        c.sinceSnapshot = 0
        await kv.put(c.id, JSON.stringify(toSnapshot(s)))
        this.snapshots++
      }
    }
  }

  /** Creates the conversations and fills them up to `events` events in all. */
  async seed(): Promise<SeedResult> {
    const t0 = performance.now()
    const o = this.o
    const convs: SeededConversation[] = ringPairs(o.userIds.length, o.conversationsPerUser).map(
      ([i, j], k) => {
        const id = `d_${o.tag}x${k.toString().padStart(6, '0')}`
        return { id, members: [o.userIds[i]!, o.userIds[j]!], state: emptyState(id), sinceSnapshot: 0 }
      },
    )
    // Per conversation: its creation, then script steps until its share of the events is written.
    const share = Math.max(1, Math.ceil(o.events / convs.length))
    const timer = setInterval(() => o.onProgress?.(this.events), 1000)
    try {
      await mapLimit(convs, o.concurrency ?? 1024, async (c) => {
        const [a, b] = c.members
        await this.apply(c, { type: 'direct.open', actor: a, peerId: b, known: new Set([a, b]) })
        let written = 1
        while (written < share && this.events < o.events)
          for (const cmd of scriptStep(c, o.textBytes)) {
            if (written >= share) break
            await this.apply(c, cmd)
            written++
          }
      })
    } finally {
      clearInterval(timer)
    }
    return {
      conversations: convs,
      events: this.events,
      snapshots: this.snapshots,
      seconds: (performance.now() - t0) / 1000,
    }
  }

  /** `count` more messages in each conversation (what devices miss while they are away). */
  async addMessages(convs: SeededConversation[], count: number): Promise<number> {
    const before = this.events
    await mapLimit(convs, this.o.concurrency ?? 1024, async (c) => {
      for (let k = 0; k < count; k++) await this.apply(c, scriptStep(c, this.o.textBytes)[0]!)
    })
    return this.events - before
  }
}
