/**
 * A quick, bounded measurement (not part of the test suite, about a minute): in a scratch
 * namespace, the live projector's catch-up rate on a 20,000-event backlog, its lag at a steady
 * RATE events/s for 5 s, then a full `rebuild` of EVENTS events in batches of BATCH. Run:
 *   cd projector && source ../.data/test.env && EVENTS=60000 RATE=3000 \
 *     node --import=file://$PWD/../node_modules/@tapjs/typescript/dist/esm/import.mjs bench/rebuild-rate.ts
 */
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { decodeEvent, encodeJson, HEADERS } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { headers } from '@nats-io/nats-core'
import { Registry } from 'prom-client'
import { openPool } from '../src/db.js'
import { readLog } from '../src/log-reader.js'
import { startProjector } from '../src/projector.js'
import { rebuild } from '../src/rebuild.js'

/** PROFILE=file.cpuprofile: a CPU profile of the rebuild alone (not of the publishing before it). */
const startProfile = async () => {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return async (file: string) => {
    const { profile } = await session.post('Profiler.stop')
    await writeFile(file, JSON.stringify(profile))
    session.disconnect()
  }
}

/** CPU seconds used so far by every postgres process of the machine (from /proc). */
const postgresCpu = async (): Promise<number> => {
  let ticks = 0
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    const m = /^\d+ \((postgres)\) (.*)$/.exec(stat.trim())
    if (!m) continue
    const f = m[2]!.split(' ')
    ticks += Number(f[11]) + Number(f[12])
  }
  return ticks / 100
}

const EVENTS = Number(process.env.EVENTS ?? 60_000)
const RATE = Number(process.env.RATE ?? 3000)
const CONVS = 300
const tn = await createTestNamespace({ shards: 4 })
const n = tn.names
const js = jetstream(tn.nc)
const pool = openPool(tn.stack.databaseUrl, 8)
const users = ['u_bench001', 'u_bench002', 'u_bench003']
const conv = (i: number) => `c_bench${String(i).padStart(5, '0')}`
const counters = new Map<string, number>()
let id = 0
const publish = (conversationId: string, type: string, data: unknown, lane: 'm' | 'r' = 'm') => {
  const e = { v: 1, type, id: `b${++id}`, conversationId, actor: users[id % 3], at: Date.now(), data }
  const h = headers()
  h.set(HEADERS.eventType, type)
  return js.publish(n.convSubject(conversationId, lane), encodeJson(e), { headers: h })
}
for (let i = 0; i < CONVS; i++)
  await publish(conv(i), 'conversation.created', {
    kind: 'group',
    title: 'bench',
    members: users.map((userId, k) => ({ userId, role: k === 0 ? 'admin' : 'member' })),
  })

const sendOne = async () => {
  const c = conv(Math.floor(Math.random() * CONVS))
  const k = (counters.get(c) ?? 0) + 1
  counters.set(c, k)
  if (k % 4 === 0) return publish(c, 'receipt.read', { upTo: 1 }, 'r')
  return publish(c, 'message.sent', {
    clientMsgId: `cmid-${id}-bench`,
    deviceId: 'd',
    n: k,
    kind: 'text',
    text: 'hello there',
  })
}

// 0. Catch-up rate of the live projector alone: a backlog first, then start it.
{
  const backlog: Promise<unknown>[] = []
  for (let i = 0; i < 20_000; i++) {
    backlog.push(sendOne())
    if (backlog.length >= 2000) await Promise.all(backlog.splice(0))
  }
  await Promise.all(backlog)
  const reg = new Registry()
  const t0 = Date.now()
  const p0 = await startProjector({
    nc: tn.nc,
    pool,
    databaseUrl: tn.stack.databaseUrl,
    names: n,
    batch: 500,
    log: createLogger('bench', 'silent'),
    registry: reg,
  })
  for (;;) {
    const r = await pool.query(`SELECT sum(last_seq)::int AS s FROM "${n.dbSchemas.views}".projector_offsets`)
    if (Number(r.rows[0]?.s ?? 0) >= id) break
    await new Promise((r) => setTimeout(r, 50))
  }
  const secs = (Date.now() - t0) / 1000
  const a = (await reg.getSingleMetric('projector_apply_seconds')!.get()).values
  console.log(
    `catch-up: ${id} events in ${secs}s = ${Math.round(id / secs)} events/s; batches=${a.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value} apply sum=${a.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value}`,
  )
  await p0.stop()
}

// 1. Live projection lag at RATE events/s for a few seconds.
const registry = new Registry()
const p = await startProjector({
  nc: tn.nc,
  pool,
  databaseUrl: tn.stack.databaseUrl,
  names: n,
  batch: 500,
  log: createLogger('bench', 'silent'),
  registry,
})
const lags: number[] = []
const seconds = 5
const startLive = Date.now()
let sent = 0
while (Date.now() - startLive < seconds * 1000) {
  const tick = Date.now()
  const due = Math.floor(((tick - startLive) / 1000) * RATE) - sent
  const batch = []
  for (let i = 0; i < due; i++) batch.push(sendOne())
  sent += due
  await Promise.all(batch)
  const text = await registry.getSingleMetricAsString('projector_lag_seconds')
  for (const m of text.matchAll(/\} ([0-9.e-]+)$/gm)) lags.push(Number(m[1]))
  await new Promise((r) => setTimeout(r, 20))
}
const apply = (await registry.getSingleMetric('projector_apply_seconds')!.get()).values
console.log(`live: sent ${sent} events in ${seconds}s (${Math.round(sent / seconds)}/s)`)
lags.sort((a, b) => a - b)
console.log(
  `live: projector_lag_seconds samples p50=${lags[Math.floor(lags.length * 0.5)]} p99=${lags[Math.floor(lags.length * 0.99)]} max=${lags[lags.length - 1]}`,
)
console.log(
  `live: apply_seconds sum=${apply.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value} count=${apply.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value}`,
)
await p.stop()

// 2. Fill up to EVENTS, then time a full rebuild.
const pending: Promise<unknown>[] = []
while (id < EVENTS) {
  pending.push(sendOne())
  if (pending.length >= 2000) await Promise.all(pending.splice(0))
}
await Promise.all(pending)
const jsm = await jetstreamManager(tn.nc)
// Reading alone (NATS fetch + no apply), to split the rebuild's time between the log and PostgreSQL.
const readStart = Date.now()
let read = 0
for (let s = 0; s < n.shards; s++)
  for await (const b of readLog(js, jsm, { stream: n.convStream(s), batch: 2000 })) {
    read += b.length
    for (const e of b) decodeEvent(e.data)
  }
console.log(`read+decode only: ${read} events in ${(Date.now() - readStart) / 1000}s`)
const profile = process.env.PROFILE ? await startProfile() : undefined
const cpu0 = { node: process.cpuUsage(), pg: await postgresCpu() }
const r = await rebuild({
  js,
  jsm,
  pool,
  databaseUrl: tn.stack.databaseUrl,
  names: n,
  batch: Number(process.env.BATCH ?? 2000),
})
const cpu = { node: process.cpuUsage(cpu0.node), pg: (await postgresCpu()) - cpu0.pg }
if (profile) await profile(process.env.PROFILE!)
console.log(
  `rebuild: ${r.events} events in ${r.seconds.toFixed(2)}s = ${Math.round(r.events / r.seconds)} events/s`,
)
console.log(
  `rebuild CPU: this process ${((cpu.node.user + cpu.node.system) / 1e6).toFixed(2)}s, every postgres process ${cpu.pg.toFixed(2)}s (the machine's other users included)`,
)
await pool.end()
await tn.cleanup()
