import { ChatClient, type EventFrame, isChatClientError } from '@chatapp/client'
import { encodeHistogram, newHistogram, recordUs } from '../core/latency.js'
import { ReadBatchClock } from '../core/read-batch-clock.js'
import {
  addCounts,
  type CheckCounts,
  SequenceChecker,
  type StoredRange,
  subtractCounts,
  ZERO_COUNTS,
} from '../core/sequence-checker.js'
import { readStamp, stampText } from '../core/stamp.js'
import { login, mapLimit, registerAndLogin } from './accounts.js'
import type {
  ChatSetup,
  PlannedConversation,
  Progress,
  RunStep,
  SplitArrival,
  SplitResult,
  SplitStored,
  StepResult,
} from './messages.js'

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

/**
 * The machine's clock in microseconds, read monotonically: a split group's sender and members run
 * in different workers, and their stamps must compare.
 */
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000
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
  /** Who sends, in turn: every member, or in a split group the owner's own. */
  senders: number[]
  /** Group: the sender whose turn is next (rotates). */
  turn: number
  split?: NonNullable<PlannedConversation['split']>
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
  /** Split groups (core/plan.ts): counted apart, reported by `settle` once the owners' stores are known. */
  private readonly splitCheckers = new Map<number, SequenceChecker>()
  private splitDelivered = 0
  private splitDeliveredSettled = 0
  private splitHist = newHistogram()
  private splitArrivals = new Map<string, SplitArrival>()
  private splitStoredInStep = new Map<string, number>()
  private previousSplitCheck: CheckCounts = ZERO_COUNTS

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
    const { sent, stored, errors } = this.counts
    return { sent, stored, delivered: this.counts.delivered + this.splitDelivered, errors, open }
  }

  /**
   * Logs this worker's users in and connects them; creates the conversations it holds whole.
   * Split groups come later (`split`): returns the user ids their owners need.
   */
  async setup(): Promise<{ clients: number; conversations: number; userIds?: Record<number, string> }> {
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
      c.client = new ChatClient(this.s.wsUrls[u.index % this.s.wsUrls.length]!, {
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
    await mapLimit(
      this.s.conversations.filter((p) => !p.split),
      16,
      async (p) => {
        const first = this.clients.get(p.members[0]!)!
        const reply =
          p.kind === 'direct'
            ? await first.client.openDirect(this.clients.get(p.members[1]!)!.userId)
            : await first.client.createGroup(
                `bench ${p.members[0]}`,
                p.members.slice(1).map((m) => this.clients.get(m)!.userId),
              )
        if (!reply.conversationId) throw new Error(`creating a ${p.kind} conversation: no conversation id`)
        this.bind(reply.conversationId, p)
      },
    )
    await this.waitJoined()
    const userIds = this.s.conversations.some((p) => p.split)
      ? Object.fromEntries([...this.clients.values()].map((c) => [c.index, c.userId]))
      : undefined
    return {
      clients: this.clients.size,
      conversations: this.convs.length,
      ...(userIds ? { userIds } : {}),
    }
  }

  private bind(id: string, p: PlannedConversation): void {
    const conv: Conv = {
      id,
      kind: p.kind,
      members: p.members,
      senders: p.split ? p.split.local : p.members,
      turn: 0,
      ...(p.split ? { split: p.split } : {}),
    }
    this.convs.push(conv)
    this.convById.set(conv.id, conv)
  }

  /**
   * Split groups, in two rounds (ToWorker 'split'): without `ids`, the owner of each creates it
   * with every member's user id; with them, each worker binds its groups and waits until its own
   * members have them. Returns the ids this worker created, by plan key.
   */
  async split(
    userIds: Record<number, string>,
    ids?: Record<string, string>,
  ): Promise<Record<string, string>> {
    const mine = this.s.conversations.filter((p) => p.split)
    if (!ids) {
      const created: Record<string, string> = {}
      const idOf = (m: number) => {
        const id = this.clients.get(m)?.userId ?? userIds[m]
        if (!id) throw new Error(`split group: no user id for member ${m}`)
        return id
      }
      await mapLimit(
        mine.filter((p) => p.split!.owner),
        4,
        async (p) => {
          const reply = await this.clients
            .get(p.members[0]!)!
            .client.createGroup(`bench ${p.members[0]}`, p.members.slice(1).map(idOf))
          if (!reply.conversationId) throw new Error('creating a split group: no conversation id')
          created[p.split!.key] = reply.conversationId
        },
      )
      return created
    }
    for (const p of mine) {
      const id = ids[p.split!.key]
      if (!id) throw new Error(`split group ${p.split!.key}: no conversation id from its owner`)
      if (!this.convById.has(id)) this.bind(id, p)
    }
    await this.waitJoined()
    return {}
  }

  /** Until every member this worker holds has each of its conversations live (60 s at most). */
  private async waitJoined(): Promise<void> {
    const holds = (c: Conv) => c.split?.local ?? c.members
    const deadline = Date.now() + 60_000
    while (!this.convs.every((c) => (this.joined.get(c.id)?.size ?? 0) >= holds(c).length)) {
      if (Date.now() > deadline) {
        const short = this.convs.filter((c) => (this.joined.get(c.id)?.size ?? 0) < holds(c).length)
        const worst = short.reduce(
          (a, c) => Math.min(a, this.joined.get(c.id)?.size ?? 0),
          Number.MAX_SAFE_INTEGER,
        )
        const live = [...this.clients.values()].filter((c) => c.live).length
        const without = short
          .flatMap((c) => holds(c).filter((m) => !this.joined.get(c.id)?.has(m)))
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
  }

  /** Media state events (ready / failed) seen by any member, for the media load. */
  onMedia: ((conversationId: string, mediaId: string, ok: boolean) => void) | undefined

  /** The first member of each conversation, who sends media in the media scenario. */
  participants(): Participant[] {
    return this.convs
      .filter((conv) => this.clients.has(conv.members[0]!))
      .map((conv) => {
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
    const conv = this.convById.get(f.conversationId)
    if (conv?.split) {
      this.onSplitCopy(c, conv, f.conversationId, stamp, at, readAt, live)
      return
    }
    this.counts.delivered++
    const checker = this.checkers.get(c.index) ?? new SequenceChecker()
    this.checkers.set(c.index, checker)
    checker.receive(`${f.conversationId}|${stamp.sender}`, stamp.n)
    if (live) recordUs(this.hist.delivered, at - stamp.sentAtUs)
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

  /** A member's copy of a split group's message: its worker's share of the fan-out. */
  private onSplitCopy(
    c: Client,
    conv: Conv,
    conversationId: string,
    stamp: { sender: number; n: number; sentAtUs: number },
    at: number,
    readAt: number,
    live: boolean,
  ): void {
    this.splitDelivered++
    const checker = this.splitCheckers.get(c.index) ?? new SequenceChecker()
    this.splitCheckers.set(c.index, checker)
    checker.receive(`${conversationId}|${stamp.sender}`, stamp.n)
    if (live) recordUs(this.splitHist, at - stamp.sentAtUs)
    const key = `${conversationId}|${stamp.sender}|${stamp.n}`
    const a = this.splitArrivals.get(key)
    if (a) {
      a.count++
      a.firstAtUs = Math.min(a.firstAtUs, at)
      a.lastAtUs = Math.max(a.lastAtUs, at)
      a.lastReadAtUs = Math.max(a.lastReadAtUs, readAt)
    } else
      this.splitArrivals.set(key, {
        key,
        sentAtUs: stamp.sentAtUs,
        count: 1,
        receivers: conv.members.length - 1,
        firstAtUs: at,
        lastAtUs: at,
        lastReadAtUs: readAt,
      })
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
          if (conv.split) this.splitStoredInStep.set(conv.id, (this.splitStoredInStep.get(conv.id) ?? 0) + 1)
          else this.counts.expected += conv.members.length - 1
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
    if (step.reconnect && this.convs.some((c) => c.split))
      throw new Error('a reconnect step with split groups is not supported: run it with whole conversations')
    this.splitStoredInStep = new Map()
    const slots: { conv: Conv; sender?: number }[] = []
    for (const conv of this.convs) {
      if (conv.kind === 'direct') for (const m of conv.members) slots.push({ conv, sender: m })
      else if (!conv.split || conv.split.owner) slots.push({ conv })
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
          sender = s.conv.senders[s.conv.turn++ % s.conv.senders.length]!
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
    const stepCheck = subtractCounts(check, this.previousCheck)
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
      ...(this.convs.some((c) => c.split?.owner) ? { split: this.splitStored() } : {}),
    }
  }

  /** What this worker stored in the split groups it owns. */
  private splitStored(): SplitStored {
    const ranges: SplitStored['ranges'] = {}
    for (const conv of this.convs) {
      if (!conv.split?.owner) continue
      for (const m of conv.senders) {
        const st = this.stored.get(`${conv.id}|${m}`)
        if (st) ranges[`${conv.id}|${m}`] = { upTo: st.upTo, refused: [...st.refused] }
      }
    }
    return { ranges, storedInStep: Object.fromEntries(this.splitStoredInStep) }
  }

  /**
   * This worker's share of the last step in its split groups: waits (bounded) until its members
   * have every copy the owners stored, then checks loss, duplication and order against the owners'
   * ranges and hands over each message's arrivals.
   */
  async settle(stored: SplitStored, drainTimeoutMs: number): Promise<SplitResult> {
    let expected = 0
    for (const conv of this.convs) {
      if (!conv.split) continue
      // The senders are the owner's members: the owner's other members and every member elsewhere receive.
      const receivers = conv.split.local.length - (conv.split.owner ? 1 : 0)
      expected += (stored.storedInStep[conv.id] ?? 0) * receivers
    }
    const end = performance.now() + drainTimeoutMs
    while (this.splitDelivered - this.splitDeliveredSettled < expected && performance.now() < end)
      await sleep(10)
    // Per member held here, the ranges it must have: its groups' senders but itself. The senders
    // are the owner's members, which another worker does not know: every range of the group.
    const expectedOf = new Map<number, Map<string, StoredRange>>()
    for (const conv of this.convs) {
      if (!conv.split) continue
      const group = Object.entries(stored.ranges)
        .filter(([key]) => key.startsWith(`${conv.id}|`))
        .map(([key, r]) => [key, { upTo: r.upTo, refused: new Set(r.refused) }] as const)
      for (const m of conv.split.local) {
        const mine = expectedOf.get(m) ?? new Map<string, StoredRange>()
        expectedOf.set(m, mine)
        for (const [key, r] of group) if (key !== `${conv.id}|${m}`) mine.set(key, r)
      }
    }
    let total = ZERO_COUNTS
    for (const [m, ranges] of expectedOf)
      if (ranges.size > 0)
        total = addCounts(total, (this.splitCheckers.get(m) ?? new SequenceChecker()).finish(ranges))
    const check = subtractCounts(total, this.previousSplitCheck)
    this.previousSplitCheck = total
    const delivered = this.splitDelivered - this.splitDeliveredSettled
    this.splitDeliveredSettled = this.splitDelivered
    const result: SplitResult = {
      delivered,
      expected,
      check,
      sendToDelivered: encodeHistogram(this.splitHist),
      arrivals: [...this.splitArrivals.values()],
    }
    this.splitHist = newHistogram()
    this.splitArrivals = new Map()
    return result
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
        if (conv.split || !conv.members.includes(c.index)) continue
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
