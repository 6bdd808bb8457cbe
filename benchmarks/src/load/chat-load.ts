import { ChatClient, type EventFrame, isChatClientError } from '@chatapp/client'
import { encodeHistogram, newHistogram, recordUs } from '../core/latency.js'
import { ReadBatchClock } from '../core/read-batch-clock.js'
import {
  addCounts,
  type CheckCounts,
  SequenceChecker,
  type StoredRange,
  ZERO_COUNTS,
} from '../core/sequence-checker.js'
import { readStamp, stampText } from '../core/stamp.js'
import { login, mapLimit, registerAndLogin } from './accounts.js'
import type { ChatSetup, Progress, RunStep, StepResult } from './messages.js'

/**
 * The client library has no public way to lose the network: end its socket from our side the way
 * its own keepalive does (the Connector's `drop`), which is what a dead network looks like to it;
 * it then reconnects and resyncs. Fails loudly if the library's insides moved.
 */
const dropConnection = (client: ChatClient): void => {
  const conn = (client as unknown as { conn?: { drop?: () => void } }).conn
  if (typeof conn?.drop !== 'function')
    throw new Error('cannot drop the ChatClient connection (internals changed)')
  conn.drop()
}

const nowUs = () => performance.now() * 1000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Client {
  index: number
  userId: string
  client: ChatClient
  /** Live (synced) now: events before `synced` come from the resync, not live delivery. */
  live: boolean
  /** False while this benchmark keeps the device offline: it sends nothing then. */
  online: boolean
  /** While offline: resolves when the network is back (the client cannot connect before). */
  networkBack: Promise<void> | undefined
  /** The current access token, for the HTTP API (uploads). */
  token: string
}

/** A conversation of this worker with its members' clients, for loads beyond text (media). */
export interface Participant {
  conversationId: string
  sender: { client: ChatClient; token: () => string }
}

interface Conv {
  id: string
  kind: 'direct' | 'group'
  members: number[]
  /** Group: the member who sends next (rotates). */
  turn: number
}

/**
 * The chat load of one worker process: its users, their connections and the conversations among
 * them (whole conversations only, so every latency is measured on this process's clock).
 */
export class ChatLoad {
  private readonly clients = new Map<number, Client>()
  private readonly convs: Conv[] = []
  private readonly convById = new Map<string, Conv>()
  private readonly joined = new Map<string, Set<number>>()
  /** Per `<conversation>|<sender>`: the last number used, and what the gateway stored. */
  private readonly numbers = new Map<string, number>()
  private readonly stored = new Map<string, { upTo: number; refused: Set<number> }>()
  private readonly checkers = new Map<number, SequenceChecker>()
  /** Group messages still on their way to some member: `<conv>|<sender>|<n>` → members left. */
  private readonly inFlightFanout = new Map<string, number>()
  private hist = this.freshHistograms()
  /** When frames reached this worker's sockets, apart from the handling of the others (see the class). */
  private readonly readBatch = new ReadBatchClock()
  private counts = { sent: 0, stored: 0, delivered: 0, expected: 0, errors: 0, pending: 0 }
  private sendErrors: Record<string, number> = {}
  private unexpectedCloses = 0
  /** Errors the client library reported outside any request (refusals, invalid frames, closes). */
  private readonly clientErrors: Record<string, number> = {}
  private previousCheck: CheckCounts = ZERO_COUNTS
  private previousRedelivered = 0
  private trackFanout = true

  constructor(private readonly s: ChatSetup) {}

  private freshHistograms() {
    return {
      sent: newHistogram(),
      delivered: newHistogram(),
      last: newHistogram(),
      lastRead: newHistogram(),
      resync: newHistogram(),
    }
  }

  progress(): Progress {
    const open = [...this.clients.values()].filter((c) => c.live).length
    const { sent, stored, delivered, errors } = this.counts
    return { sent, stored, delivered, errors, open }
  }

  async setup(): Promise<{ clients: number; conversations: number }> {
    await mapLimit(this.s.users, 4, async (u) => {
      const deviceId = `bench${u.index}`
      let tokens = await registerAndLogin(this.s.httpUrl, u, deviceId)
      const c = {
        index: u.index,
        userId: tokens.userId,
        live: false,
        online: true,
        networkBack: undefined,
        token: tokens.accessToken,
      } as Omit<Client, 'client'> as Client
      c.client = new ChatClient(this.s.wsUrl, {
        deviceId,
        // A refused token (expired during a long run) is replaced by logging in again.
        tokenProvider: async ({ forceRefresh }) => {
          await c.networkBack
          if (forceRefresh) tokens = await login(this.s.httpUrl, u, deviceId)
          c.token = tokens.accessToken
          return tokens.accessToken
        },
        autoDeliver: this.s.receiptIntervalMs > 0,
        receiptDelayMs: Math.max(1, this.s.receiptIntervalMs),
        requestTimeoutMs: 30_000,
        maxPending: 100_000,
        syncTail: 0,
        backoff: { baseMs: 100, maxMs: 2000 },
      })
      const client = c.client
      client.on('state', (st) => {
        c.live = st === 'live'
        if (st === 'reconnecting' && c.online) this.unexpectedCloses++
      })
      client.on('event', (f) => this.onEvent(c, f, c.live))
      client.on('error', (e) => {
        this.clientErrors[e.code] = (this.clientErrors[e.code] ?? 0) + 1
      })
      client.on('closed', (info) => {
        if (c.online)
          this.clientErrors[`closed ${info.code}`] = (this.clientErrors[`closed ${info.code}`] ?? 0) + 1
      })
      this.clients.set(u.index, c)
    })
    await mapLimit([...this.clients.values()], 64, (c) => c.client.ready(60_000))
    await mapLimit(this.s.conversations, 16, async (p) => {
      const first = this.clients.get(p.members[0]!)!
      const reply =
        p.kind === 'direct'
          ? await first.client.openDirect(this.clients.get(p.members[1]!)!.userId)
          : await first.client.createGroup(
              `bench ${p.members[0]}`,
              p.members.slice(1).map((m) => this.clients.get(m)!.userId),
            )
      if (!reply.conversationId) throw new Error(`creating a ${p.kind} conversation: no conversation id`)
      const conv: Conv = { id: reply.conversationId, kind: p.kind, members: p.members, turn: 0 }
      this.convs.push(conv)
      this.convById.set(conv.id, conv)
    })
    // Every member must have the conversation live before anything is measured.
    const deadline = Date.now() + 60_000
    while (!this.convs.every((c) => (this.joined.get(c.id)?.size ?? 0) >= c.members.length)) {
      if (Date.now() > deadline) {
        const short = this.convs.filter((c) => (this.joined.get(c.id)?.size ?? 0) < c.members.length)
        const worst = short.reduce(
          (a, c) => Math.min(a, this.joined.get(c.id)?.size ?? 0),
          Number.MAX_SAFE_INTEGER,
        )
        const live = [...this.clients.values()].filter((c) => c.live).length
        const without = short
          .flatMap((c) => c.members.filter((m) => !this.joined.get(c.id)?.has(m)))
          .slice(0, 10)
        // Each such device's own counts tell a frame never sent (framesIn flat, no gap, no
        // duplicate) from one its client dropped (a duplicate, a gap and its resync, an invalid frame).
        const stats = without.map((m) => `${m} ${JSON.stringify(this.clients.get(m)?.client.stats)}`)
        throw new Error(
          `${short.length} conversations not live for every member after 60 s (fewest members with it: ${worst}; ` +
            `without it: members ${without.join(', ')}; their clients' counts: ${stats.join('; ')}; ` +
            `${live} of ${this.clients.size} clients live, ${this.unexpectedCloses} unexpected closes, ` +
            `client errors ${JSON.stringify(this.clientErrors)})`,
        )
      }
      await sleep(20)
    }
    return { clients: this.clients.size, conversations: this.convs.length }
  }

  /** Media state events (ready / failed) seen by any member, for the media load. */
  onMedia: ((conversationId: string, mediaId: string, ok: boolean) => void) | undefined

  /** The first member of each conversation, who sends media in the media scenario. */
  participants(): Participant[] {
    return this.convs.map((conv) => {
      const c = this.clients.get(conv.members[0]!)!
      return { conversationId: conv.id, sender: { client: c.client, token: () => c.token } }
    })
  }

  private onEvent(c: Client, f: EventFrame, live: boolean): void {
    const e = f.event
    if (e.type === 'media.ready' || e.type === 'media.failed') {
      this.onMedia?.(f.conversationId, e.data.mediaId, e.type === 'media.ready')
      return
    }
    if (e.type === 'conversation.created' || e.type === 'member.added') {
      const set = this.joined.get(f.conversationId) ?? new Set<number>()
      this.joined.set(f.conversationId, set)
      set.add(c.index)
      return
    }
    if (e.type !== 'message.sent') return
    const stamp = readStamp(e.data.text)
    if (!stamp || stamp.sender === c.index) return
    const at = nowUs()
    // Taken for every stamped message a member receives: a batch starts at the first one handled in it.
    const readAt = this.readBatch.stamp(at)
    this.counts.delivered++
    const checker = this.checkers.get(c.index) ?? new SequenceChecker()
    this.checkers.set(c.index, checker)
    checker.receive(`${f.conversationId}|${stamp.sender}`, stamp.n)
    if (live) recordUs(this.hist.delivered, at - stamp.sentAtUs)
    const conv = this.convById.get(f.conversationId)
    if (conv?.kind === 'group' && this.trackFanout) {
      const key = `${f.conversationId}|${stamp.sender}|${stamp.n}`
      const left = (this.inFlightFanout.get(key) ?? conv.members.length - 1) - 1
      if (left <= 0) {
        this.inFlightFanout.delete(key)
        recordUs(this.hist.last, at - stamp.sentAtUs)
        recordUs(this.hist.lastRead, readAt - stamp.sentAtUs)
      } else this.inFlightFanout.set(key, left)
    }
  }

  private send(conv: Conv, sender: number): void {
    const c = this.clients.get(sender)!
    const key = `${conv.id}|${sender}`
    const n = (this.numbers.get(key) ?? 0) + 1
    this.numbers.set(key, n)
    const st = this.stored.get(key) ?? { upTo: 0, refused: new Set<number>() }
    this.stored.set(key, st)
    const t0 = nowUs()
    this.counts.sent++
    this.counts.pending++
    const range = st
    c.client
      .send(
        conv.id,
        { text: stampText({ sender, n, sentAtUs: t0 }, this.s.msgBytes) },
        // Unique per sender and conversation, and at least 8 characters as the protocol asks.
        { clientMsgId: `bench-${sender}-${n}` },
      )
      .then(
        (r) => {
          this.counts.pending--
          // Every clientMsgId here is new: an acknowledgement as a duplicate means the gateway
          // matched it to some other message.
          if (r.duplicate)
            this.sendErrors['acknowledged as duplicate'] =
              (this.sendErrors['acknowledged as duplicate'] ?? 0) + 1
          recordUs(this.hist.sent, nowUs() - t0)
          this.counts.stored++
          this.counts.expected += conv.members.length - 1
          if (n > range.upTo) range.upTo = n
        },
        (err: unknown) => {
          this.counts.pending--
          range.refused.add(n)
          this.counts.errors++
          const code = isChatClientError(err) ? err.code : 'EXCEPTION'
          this.sendErrors[code] = (this.sendErrors[code] ?? 0) + 1
          // A refused group message will never reach anyone: stop waiting for its fan-out.
          this.inFlightFanout.delete(`${conv.id}|${sender}|${n}`)
        },
      )
  }

  /** Open-loop sending at `rate`: due sends are issued on schedule whether or not earlier ones were answered. */
  async run(step: RunStep): Promise<StepResult> {
    this.hist = this.freshHistograms()
    const before = { ...this.counts }
    const closesBefore = this.unexpectedCloses
    this.sendErrors = {}
    this.trackFanout = !step.reconnect
    const slots: { conv: Conv; sender?: number }[] = []
    for (const conv of this.convs) {
      if (conv.kind === 'direct') for (const m of conv.members) slots.push({ conv, sender: m })
      else slots.push({ conv })
    }
    let issued = 0
    let slot = 0
    const start = performance.now()
    const end = start + step.durationMs
    const reconnecting = step.reconnect ? this.scheduleReconnect(step.reconnect) : Promise.resolve()
    while (performance.now() < end && slots.length > 0) {
      const due = Math.floor(((performance.now() - start) / 1000) * step.rate) - issued
      for (let i = 0; i < due; i++) {
        const s = slots[slot++ % slots.length]!
        let sender = s.sender
        if (sender === undefined) {
          sender = s.conv.members[s.conv.turn++ % s.conv.members.length]!
        }
        issued++
        // An offline device cannot send; its turn is skipped (and not counted as offered).
        if (this.clients.get(sender)!.online) this.send(s.conv, sender)
      }
      await sleep(2)
    }
    const sendSeconds = (performance.now() - start) / 1000
    await reconnecting
    const drainEnd = performance.now() + step.drainTimeoutMs
    while (
      (this.counts.pending > 0 ||
        this.counts.delivered - before.delivered < this.counts.expected - before.expected) &&
      performance.now() < drainEnd
    )
      await sleep(10)
    // Sends still unanswered when the drain gave up: neither stored nor refused as far as we know.
    if (this.counts.pending > 0)
      this.sendErrors['unanswered at the drain timeout'] =
        (this.sendErrors['unanswered at the drain timeout'] ?? 0) + this.counts.pending
    const check = this.check()
    const stepCheck: CheckCounts = {
      received: check.received - this.previousCheck.received,
      duplicated: check.duplicated - this.previousCheck.duplicated,
      outOfOrder: check.outOfOrder - this.previousCheck.outOfOrder,
      lost: check.lost - this.previousCheck.lost,
    }
    this.previousCheck = check
    const redelivered = [...this.clients.values()].reduce((a, c) => a + c.client.stats.duplicates, 0)
    const stepRedelivered = redelivered - this.previousRedelivered
    this.previousRedelivered = redelivered
    return {
      sent: this.counts.sent - before.sent,
      stored: this.counts.stored - before.stored,
      delivered: this.counts.delivered - before.delivered,
      expected: this.counts.expected - before.expected,
      sendErrors: this.sendErrors,
      sendToSent: encodeHistogram(this.hist.sent),
      sendToDelivered: encodeHistogram(this.hist.delivered),
      toLastMember: encodeHistogram(this.hist.last),
      toLastMemberRead: encodeHistogram(this.hist.lastRead),
      resync: encodeHistogram(this.hist.resync),
      check: stepCheck,
      redelivered: stepRedelivered,
      unexpectedCloses: this.unexpectedCloses - closesBefore,
      clientErrors: { ...this.clientErrors },
      sendSeconds,
    }
  }

  /** Drops some devices mid-run (no close handshake), keeps them offline, then reconnects them with their cursors. */
  private async scheduleReconnect(r: NonNullable<RunStep['reconnect']>): Promise<void> {
    await sleep(r.atMs)
    // One member of each conversation at most (pairs are 2i, 2i+1): a device whose peer is also
    // offline would miss nothing, and the scenario would prove nothing.
    const victims = [...this.clients.values()]
      .filter((c) => c.online && c.index % 2 === 0)
      .slice(0, r.clients)
    let networkBack = () => {}
    const back = new Promise<void>((resolve) => {
      networkBack = resolve
    })
    for (const c of victims) {
      c.online = false
      c.networkBack = back
      dropConnection(c.client)
    }
    await sleep(r.offlineMs)
    const stillLive = victims.filter((c) => c.client.state === 'live').length
    if (stillLive > 0) throw new Error(`${stillLive} devices were still live after losing their network`)
    const t0 = nowUs()
    networkBack()
    await mapLimit(victims, 32, async (c) => {
      c.networkBack = undefined
      await c.client.ready(60_000)
      recordUs(this.hist.resync, nowUs() - t0)
      c.online = true
    })
  }

  /** Loss, duplication and order over everything received so far, against what the senders had stored. */
  private check(): CheckCounts {
    let total = ZERO_COUNTS
    for (const c of this.clients.values()) {
      const expected = new Map<string, StoredRange>()
      for (const conv of this.convs) {
        if (!conv.members.includes(c.index)) continue
        for (const m of conv.members) {
          if (m === c.index) continue
          const st = this.stored.get(`${conv.id}|${m}`)
          if (st) expected.set(`${conv.id}|${m}`, st)
        }
      }
      const checker = this.checkers.get(c.index) ?? new SequenceChecker()
      const counts = checker.finish(expected)
      total = addCounts(total, counts)
    }
    return total
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.clients.values()].map((c) => {
        c.online = false
        return c.client.close()
      }),
    )
  }
}
