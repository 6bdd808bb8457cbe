import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { AuthApi, type ChatClient, connect, isChatClientError, tokenSession } from '@chatapp/client'
import { type Cluster, repoRoot, startCluster } from '@chatapp/infra'
import { connectNats, createConversationLog, createLogger } from '@chatapp/kit'
import { mapLimit } from '../load/accounts.js'
import { opsCli } from '../system/ops-cli.js'
import { type Fault, type FaultKind, Ledger, type Verdicts } from './ledger.js'
import { auditLog, type LogAudit } from './log-audit.js'
import { type ReconnectSteps, ReconnectTimeline } from './reconnect-timeline.js'
import { describeUnsettled } from './unsettled.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface ChaosOptions {
  /** Seconds of load (faults happen during it). */
  durationS: number
  clients: number
  /** Messages per second offered, in total. */
  rate: number
  groups: number
  groupSize: number
  /** A kill every this many seconds, kinds in turn. */
  faultEveryS: number
  /** How long a killed process stays down before it is restarted. */
  downS: number
  kinds: FaultKind[]
  /** A photo upload (and its message) every this many seconds; 0: none. */
  uploadEveryS: number
  /** Bound on waiting for the last deliveries, the projection and the media after the load. */
  drainS: number
  /** `always`: the production config's fsync per append; `server`: the server's default interval. */
  fsync: 'always' | 'server'
  log: (m: string) => void
}

export interface ChaosReport {
  options: Omit<ChaosOptions, 'log'>
  verdicts: Verdicts
  audit: LogAudit
  faults: Fault[]
  /** The nats-server version the nodes ran. */
  natsServer: string
  /** Per gateway kill: how the devices it cut off reconnected, step by step. */
  reconnects: ReconnectSteps[]
  /** `chatapp-ops verify`: exit status 0 = the views equal the log. */
  verify: { ok: boolean; output: string }
  lagZero: boolean
  /** Dead letters other than EVENT_REJECTED (which the audit explains). */
  unexplainedDeadLetters: number
  media: { sent: number; ready: number; failed: number }
  /** What happened that is not an invariant (a restart slower than its bound). */
  notes: string[]
  violations: string[]
}

/** A small JPEG made by ffmpeg (nothing binary is committed), or undefined without ffmpeg. */
const makePhoto = (dir: string): Buffer | undefined => {
  const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg'
  const out = join(dir, 'photo.jpg')
  try {
    execFileSync(
      ffmpeg,
      ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=640x480', '-frames:v', '1', out],
      {
        stdio: 'ignore',
      },
    )
    return readFileSync(out)
  } catch {
    return undefined
  }
}

const ops = (c: Cluster, args: string[]) => opsCli(c.env, args)

const waitUntil = async (
  what: string,
  boundMs: number,
  f: () => Promise<boolean> | boolean,
  log: (m: string) => void,
) => {
  const end = Date.now() + boundMs
  while (Date.now() < end) {
    if (await f()) return true
    await sleep(250)
  }
  log(`${what}: not reached within ${Math.round(boundMs / 1000)} s`)
  return false
}

/**
 * Load through the client library while processes are killed -9 in turn, then the invariants:
 * every acknowledged message delivered exactly once and in order to every member device, no send
 * failed to the application, dense unique `n` and every acknowledged `n` as the log holds it,
 * no receipt vanished, media finished, the views equal to the log (`verify`), lag back to 0, and
 * no dead letter left unexplained.
 */
export const runChaos = async (o: ChaosOptions): Promise<ChaosReport> => {
  const tag = randomBytes(3).toString('hex')
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-chaos-'))
  const photo = o.uploadEveryS > 0 ? makePhoto(dir) : undefined
  const cluster = await startCluster({
    log: (m) => o.log(`cluster: ${m}`),
    fsyncEveryAppend: o.fsync === 'always',
    env: {
      AUTH_RATE_PER_MINUTE: '100000',
      AUTH_RATE_BURST: '10000',
      CONN_FRAMES_PER_SECOND: '1000',
      USER_FRAMES_PER_SECOND: '1000',
    },
  })
  const clients: ChatClient[] = []
  try {
    const monitor = (
      cluster.processes.find((p) => p.kind === 'nats')?.ports as { monitor?: number } | undefined
    )?.monitor
    const natsServer = await fetch(`http://127.0.0.1:${monitor}/varz`)
      .then((r) => r.json() as Promise<{ version?: string }>)
      .then((v) => v.version ?? 'unknown')
    // ── users, devices, conversations ──────────────────────────────────────────────────────────
    const api = new AuthApi(cluster.httpUrl, { timeoutMs: 60_000 })
    const users = await mapLimit(
      Array.from({ length: o.clients }, (_, i) => `chaos${tag}u${i}`),
      4,
      async (username) => {
        const password = `${randomBytes(12).toString('base64url')}!aA1`
        const profile = await api.register({ username, password, displayName: username })
        const pair = await api.login({ username, password, deviceId: 'phone' })
        return { id: profile.userId, session: tokenSession(api, pair) }
      },
    )
    const byUser = new Map<string, ChatClient>()
    const timeline = new ReconnectTimeline()
    for (const u of users) {
      const c = connect(cluster.wsUrl, {
        tokenProvider: u.session.tokenProvider,
        deviceId: 'phone',
        autoDeliver: true,
        requestTimeoutMs: 5_000,
      })
      clients.push(c)
      byUser.set(u.id, c)
      c.on('state', (next, prev) => timeline.state(u.id, next, prev, performance.now()))
    }
    await Promise.all(clients.map((c) => c.ready(60_000)))
    const conversations: { id: string; members: string[] }[] = []
    for (let i = 0; i + 1 < users.length; i += 2) {
      const r = await byUser.get(users[i]!.id)!.openDirect(users[i + 1]!.id)
      conversations.push({ id: r.conversationId!, members: [users[i]!.id, users[i + 1]!.id] })
    }
    for (let g = 0; g < o.groups; g++) {
      const members = Array.from(
        { length: Math.min(o.groupSize, users.length) },
        (_, k) => users[(g * 3 + k) % users.length]!.id,
      )
      const r = await byUser.get(members[0]!)!.createGroup(`chaos ${g}`, members.slice(1))
      conversations.push({ id: r.conversationId!, members })
    }
    const ledger = new Ledger(new Map(conversations.map((c) => [c.id, c.members])))
    const receiptsSent = new Map<string, Map<string, { delivered: number; read: number }>>()
    const noteReceipt = (conv: string, user: string, kind: 'delivered' | 'read', upTo: number) => {
      const per = receiptsSent.get(conv) ?? new Map<string, { delivered: number; read: number }>()
      receiptsSent.set(conv, per)
      const w = per.get(user) ?? { delivered: 0, read: 0 }
      per.set(user, w)
      w[kind] = Math.max(w[kind], upTo)
      if (kind === 'read') w.delivered = Math.max(w.delivered, upTo)
    }
    const media = { sent: new Set<string>(), ready: new Set<string>(), failed: new Set<string>() }
    for (const u of users) {
      const c = byUser.get(u.id)!
      c.on('event', (f) => {
        const e = f.event
        if (e.type === 'message.sent') {
          ledger.delivered(u.id, f.conversationId, f.seq, e.data.n, e.data.clientMsgId, performance.now())
          if (e.actor !== u.id) {
            noteReceipt(f.conversationId, u.id, 'delivered', f.seq) // autoDeliver marks it
            if (f.seq % 3 === 0) {
              c.markRead(f.conversationId, f.seq)
              noteReceipt(f.conversationId, u.id, 'read', f.seq)
            }
          }
        } else if (e.type === 'media.ready') media.ready.add(e.data.mediaId)
        else if (e.type === 'media.failed') media.failed.add(e.data.mediaId)
      })
    }
    o.log(`${users.length} devices live, ${conversations.length} conversations`)

    // ── load ───────────────────────────────────────────────────────────────────────────────────
    let stopping = false
    /** Sends not settled yet, with what names them when some never settle. */
    const inFlight = new Map<Promise<unknown>, { conv: string; sender: string; at: number }>()
    const track = (p: Promise<unknown>, conv: string, sender: string) => {
      inFlight.set(p, { conv, sender, at: performance.now() })
      p.finally(() => inFlight.delete(p))
    }
    let k = 0
    const sendOne = (
      conv: { id: string; members: string[] },
      sender: string,
      content: Parameters<ChatClient['send']>[1],
    ) => {
      const clientMsgId = `cm_${tag}_${(k++).toString(36).padStart(6, '0')}`
      ledger.sent(conv.id, sender, clientMsgId, performance.now())
      track(
        byUser
          .get(sender)!
          .send(conv.id, content, { clientMsgId })
          .then(
            (r) => ledger.acked(conv.id, clientMsgId, r.seq, r.n, performance.now()),
            (err: unknown) =>
              ledger.failed(conv.id, clientMsgId, isChatClientError(err) ? err.code : String(err)),
          ),
        conv.id,
        sender,
      )
    }
    const load = (async () => {
      const t0 = performance.now()
      let i = 0
      while (!stopping && performance.now() - t0 < o.durationS * 1000) {
        const conv = conversations[i % conversations.length]!
        const sender = conv.members[(i * 7) % conv.members.length]!
        sendOne(conv, sender, { text: `chaos ${i}` })
        i++
        const due = t0 + (i * 1000) / o.rate
        await sleep(Math.max(0, due - performance.now()))
      }
    })()
    const uploads = (async () => {
      if (!photo) return
      const t0 = performance.now()
      let i = 0
      while (!stopping && performance.now() - t0 < o.durationS * 1000) {
        await sleep(o.uploadEveryS * 1000)
        const conv = conversations[i++ % conversations.length]!
        const sender = conv.members[0]!
        const token = users.find((u) => u.id === sender)!.session.current().accessToken
        try {
          const r = await fetch(`${cluster.httpUrl}/v1/media`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
            body: photo,
            signal: AbortSignal.timeout(30_000),
          })
          if (r.status !== 201) continue // a gateway down: the app would retry; not the invariant here
          const { mediaId } = (await r.json()) as { mediaId: string }
          media.sent.add(mediaId)
          sendOne(conv, sender, { kind: 'image', mediaId })
        } catch {
          // The upload's connection died with a gateway: not a message yet.
        }
      }
    })()

    // ── faults ─────────────────────────────────────────────────────────────────────────────────
    const notes: string[] = []
    const natsHealthy = async () => {
      for (const p of cluster.processes.filter((x) => x.kind === 'nats')) {
        const port = (p.ports as { monitor?: number }).monitor
        try {
          const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) })
          if (r.status !== 200) return false
        } catch {
          return false
        }
      }
      return true
    }
    const faults = (async () => {
      const t0 = performance.now()
      let turn = 0
      let natsKills = 0
      const of = (kind: FaultKind) => cluster.processes.filter((p) => p.kind === kind)
      // Kill i at half an interval past the i-th interval's start, as long as it is back before the end.
      for (;;) {
        const due = t0 + (turn + 0.5) * o.faultEveryS * 1000
        if (due + o.downS * 1000 > t0 + o.durationS * 1000) break
        await sleep(Math.max(0, due - performance.now()))
        const kind = o.kinds[turn % o.kinds.length]!
        let target: string
        let leader = false
        if (kind === 'nats') {
          // R3 tolerates one failed node: a node is killed only while every replica is current
          // (each node's /healthz), never while the last one killed is still catching up — that
          // would be two failures at once, beyond what the configuration promises.
          const healthy = await waitUntil(
            'every NATS node current before the next NATS kill',
            120_000,
            natsHealthy,
            o.log,
          )
          if (!healthy) notes.push('a NATS kill was made while a node was still catching up')
          // The leader of a stream that carries load, every other time; another node otherwise.
          const conv = conversations[turn % conversations.length]!
          const l = await cluster.streamLeader(cluster.names.convStream(cluster.names.shardOf(conv.id)))
          leader = natsKills++ % 2 === 0
          target = leader ? l : of('nats').find((p) => p.name !== l)!.name
        } else {
          const pool = of(kind)
          target = pool[Math.floor(turn / o.kinds.length) % pool.length]!.name
        }
        turn++
        o.log(`kill -9 ${target}${leader ? ' (stream leader)' : ''}`)
        ledger.fault({ kind, target, at: performance.now(), ...(kind === 'nats' ? { leader } : {}) })
        await cluster.kill9(target)
        await sleep(o.downS * 1000)
        const restarted = performance.now()
        try {
          await cluster.restart(target)
          o.log(`${target} back`)
        } catch (err) {
          // A NATS node whose streams stay "not current" past the bound (catching up under load)
          // is running and part of the cluster; the run goes on and says so.
          const msg = `${target} not ready ${Math.round((performance.now() - restarted) / 1000)} s after its restart: ${err instanceof Error ? err.message : String(err)}`
          notes.push(msg)
          o.log(msg)
        }
      }
    })()
    await Promise.all([load, faults, uploads])
    stopping = true
    // Bounded: a send the client library keeps retrying (a stream that cannot take it) is a
    // finding, reported with the rest — not a run that never ends.
    const settled = await waitUntil('every send settled', o.drainS * 1000, () => inFlight.size === 0, o.log)
    const unsettled = settled ? 0 : inFlight.size
    // Retryable refusals are not the app's news (the client retries them silently): what the run
    // can say is where the stuck sends are, since when, and how their clients fare.
    const unsettledDetail = settled
      ? []
      : describeUnsettled(
          [...inFlight.values()],
          ledger.faults,
          (c) => cluster.names.shardOf(c),
          (u) => {
            const c = byUser.get(u)!
            return `${c.state}, ${JSON.stringify(c.stats)}`
          },
        )

    // ── drain and check ────────────────────────────────────────────────────────────────────────
    await waitUntil(
      'every acknowledged message delivered everywhere',
      o.drainS * 1000,
      () => ledger.outstanding() === 0,
      o.log,
    )
    await waitUntil(
      'media ready',
      o.drainS * 1000,
      () => [...media.sent].every((m) => media.ready.has(m) || media.failed.has(m)),
      o.log,
    )
    const lagZero = await waitUntil(
      'projection lag 0',
      o.drainS * 1000,
      async () => {
        const r = await ops(cluster, ['lag', '--json'])
        if (r.code !== 0) return false
        const rows = JSON.parse(r.out) as { pending: number }[]
        return rows.every((x) => x.pending === 0)
      },
      o.log,
    )
    // The replicas of every conversation stream must end the same (messages and last sequence):
    // a replica that diverged would answer direct gets with other events at the same sequence.
    const replicaStates = async () => {
      const out = new Map<string, Set<string>>()
      for (const p of cluster.processes.filter((x) => x.kind === 'nats')) {
        const port = (p.ports as { monitor?: number }).monitor
        if (!port || !p.running) continue
        try {
          const j = (await (await fetch(`http://127.0.0.1:${port}/jsz?streams=true`)).json()) as {
            account_details?: {
              stream_detail?: { name: string; state: { messages: number; last_seq: number } }[]
            }[]
          }
          for (const sd of j.account_details?.flatMap((a) => a.stream_detail ?? []) ?? []) {
            if (!sd.name.startsWith(`${cluster.ns}-conv-`)) continue
            const set = out.get(sd.name) ?? new Set<string>()
            set.add(`${sd.state.messages}/${sd.state.last_seq}`)
            out.set(sd.name, set)
          }
        } catch {
          // a node not answering its monitor port: judged by the others
        }
      }
      return out
    }
    let diverged: string[] = []
    await waitUntil(
      'replicas agree',
      o.drainS * 1000,
      async () => {
        diverged = [...(await replicaStates())]
          .filter(([, v]) => v.size > 1)
          .map(([k, v]) => `${k}: ${[...v].join(' vs ')}`)
        return diverged.length === 0
      },
      o.log,
    )
    const verdicts = ledger.judge()
    const nc = await connectNats(cluster.natsUrl, 'chaos-audit', createLogger('chaos', 'silent'))
    let audit: LogAudit
    try {
      const log = await createConversationLog(nc, cluster.names)
      const acks = new Map<string, { seq: number; n: number }[]>()
      for (const [conv, list] of ledger.ackedByConversation()) acks.set(conv, list)
      // Receipts are coalesced by the client (100–300 ms) and batched by the gateway (100 ms).
      let last: LogAudit | undefined
      await waitUntil(
        'every receipt stored',
        o.drainS * 1000,
        async () => {
          last = await auditLog(
            log,
            conversations.map((c) => c.id),
            acks,
            receiptsSent,
          )
          return last.lostReceipts === 0
        },
        o.log,
      )
      audit = last!
    } finally {
      await nc.close()
    }
    const verify = await ops(cluster, ['verify'])
    const dl = await ops(cluster, ['dead-letters', '--json'])
    const letters = dl.code === 0 ? (JSON.parse(dl.out) as { code: string }[]) : []
    const unexplained = letters.filter((x) => x.code !== 'EVENT_REJECTED').length
    const violations: string[] = []
    const must = (ok: boolean, what: string) => {
      if (!ok) violations.push(what)
    }
    must(verdicts.lost === 0, `${verdicts.lost} acknowledged messages lost`)
    must(verdicts.duplicated === 0, `${verdicts.duplicated} duplicates`)
    must(verdicts.reordered === 0, `${verdicts.reordered} reorders`)
    must(verdicts.failed === 0, `${verdicts.failed} sends failed to the application`)
    must(
      unsettled === 0,
      `${unsettled} sends still unsettled ${o.drainS} s after the load: ${unsettledDetail.join(' | ')}`,
    )
    must(audit.storedTwice === 0, 'a send accepted twice in the log')
    must(audit.ackMismatches === 0, `${audit.ackMismatches} acknowledgements disagree with the log`)
    must(audit.lostReceipts === 0, `${audit.lostReceipts} receipts vanished`)
    must(
      audit.rejected === letters.length - unexplained || dl.code !== 0,
      'rejected events and EVENT_REJECTED dead letters disagree',
    )
    must(verify.code === 0, 'views differ from the log (verify)')
    must(lagZero, 'projection lag did not return to 0')
    must(unexplained === 0, `${unexplained} unexplained dead letters`)
    must(dl.code === 0, 'dead-letters failed')
    must(diverged.length === 0, `replicas diverged (messages/last seq per node): ${diverged.join('; ')}`)
    const mediaDone = [...media.sent].filter((m) => media.ready.has(m) || media.failed.has(m)).length
    must(mediaDone === media.sent.size, `${media.sent.size - mediaDone} media never finished`)
    // A failed run keeps every process's log (the cluster's directory goes with stop()): what a
    // gateway refused, what a node logged, is what the next reader needs and CI cannot rerun.
    if (violations.length > 0) notes.push(`logs kept in ${keepLogs(cluster)}`)
    const { log: _log, ...options } = o
    return {
      options,
      verdicts,
      audit,
      faults: ledger.faults,
      natsServer,
      reconnects: timeline.steps(ledger.faults.filter((f) => f.kind === 'gateway')),
      verify: { ok: verify.code === 0, output: verify.out.slice(0, 4000) },
      lagZero,
      unexplainedDeadLetters: unexplained,
      media: { sent: media.sent.size, ready: media.ready.size, failed: media.failed.size },
      notes,
      violations,
    }
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})))
    await cluster.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Copies every cluster process's log to `.data/chaos-failures/<namespace>/`; returns where. */
const keepLogs = (cluster: Cluster): string => {
  const dest = join(repoRoot, '.data', 'chaos-failures', cluster.ns)
  mkdirSync(dest, { recursive: true })
  for (const p of cluster.processes)
    if (existsSync(p.logFile)) copyFileSync(p.logFile, join(dest, basename(p.logFile)))
  return dest
}
