/**
 * A quick, bounded measurement (not part of the test suite, under a minute): in a scratch
 * namespace, the projector process's catch-up rate on a 20,000-event backlog, its lag and CPU per
 * event at a steady RATE events/s for 5 s, then a full `rebuild` of EVENTS events in batches of
 * BATCH. The projector runs as its own process (`dist/main.js`, so build first) for its CPU to be
 * its own; PostgreSQL's CPU is that of every postgres process of the machine (other users'
 * included: compare runs of one sitting). Run:
 *   cd projector && source ../.data/test.env && EVENTS=60000 RATE=3000 \
 *     node --import=../infra/scripts/ts-loader.mjs bench/rebuild-rate.ts
 * CATCHUP=N events are stored before the catch-up step (20,000), CATCHUP_PROFILE_DIR=dir profiles it.
 * PROFILE=file.cpuprofile writes a CPU profile of the rebuild alone, LIVE_PROFILE_DIR=dir one of the
 * projector process of the live step.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { decodeEvent, encodeJson, HEADERS } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { headers } from '@nats-io/nats-core'
import { openPool } from '../src/db.js'
import { readLog } from '../src/log-reader.js'
import { rebuild } from '../src/rebuild.js'

const EVENTS = Number(process.env.EVENTS ?? 60_000)
const RATE = Number(process.env.RATE ?? 3000)
/** Events stored before the projector starts, for its catch-up rate. */
const CATCHUP = Number(process.env.CATCHUP ?? 20_000)
const CONVS = 300

/** CPU seconds used so far by the processes whose command name matches (from /proc). */
const cpuOf = async (match: (pid: number, comm: string) => boolean): Promise<number> => {
  let ticks = 0
  for (const pid of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    const m = /^\d+ \((.*)\) (.*)$/.exec(stat.trim())
    if (!m || !match(Number(pid), m[1]!)) continue
    const f = m[2]!.split(' ')
    ticks += Number(f[11]) + Number(f[12])
  }
  return ticks / 100
}
const postgresCpu = () => cpuOf((_, comm) => comm === 'postgres')

/**
 * CPU seconds of the PostgreSQL backends serving one application_name (PGAPPNAME): the
 * projector's own share of PostgreSQL, without the other users of a shared server. Backends that
 * exit between two readings lose their share (pools keep theirs open during a step).
 */
const backendsCpu = async (appName: string): Promise<number> => {
  const r = await pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
    [appName],
  )
  const pids = new Set(r.rows.map((x) => Number(x.pid)))
  return cpuOf((pid) => pids.has(pid))
}

const freePort = async (): Promise<number> => {
  const s = createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const port = (s.address() as { port: number }).port
  s.close()
  return port
}

const CHILD_APP = `bench-projector-${process.pid}`
const REBUILD_APP = `bench-rebuild-${process.pid}`
// This process's own connections (the rebuild's) carry a name too.
process.env.PGAPPNAME = REBUILD_APP
const tn = await createTestNamespace({ shards: 4 })
const n = tn.names
const js = jetstream(tn.nc)
const pool = openPool(tn.stack.databaseUrl, 8, createLogger('test', 'silent'))

/** The projector as its own process, and a reader of its lag gauge. */
const startChild = async (profileDir?: string) => {
  const port = await freePort()
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))
  const args = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, main] : [main]
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      ...tn.env,
      PROJECTOR_OPS_PORT: String(port),
      PGAPPNAME: CHILD_APP,
      PROJECTOR_BATCH: '500',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  // Never leave a projector behind, whatever ends this process.
  process.on('exit', () => child.kill('SIGKILL'))
  const metric = async (name: string): Promise<number[]> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))].map((m) =>
      Number(m[1]),
    )
  }
  for (let i = 0; ; i++) {
    if (
      await metric('projector_batch_size_count').then(
        () => true,
        () => false,
      )
    )
      break
    if (i > 200) throw new Error('the projector did not start')
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    metric,
    cpu: () => cpuOf((pid) => pid === child.pid),
    stop: async () => {
      child.kill('SIGTERM')
      await once(child, 'exit')
    },
  }
}

const users = ['u_bench001', 'u_bench002', 'u_bench003']
const conv = (i: number) => `c_bench${String(i).padStart(5, '0')}`
const counters = new Map<string, number>()
let id = 0
const publish = (
  conversationId: string,
  type: string,
  data: unknown,
  lane: 'm' | 'r' = 'm',
  actor = users[(id + 1) % 3],
) => {
  const e = { v: 1, type, id: `b${++id}`, conversationId, actor, at: Date.now(), data }
  const h = headers()
  h.set(HEADERS.eventType, type)
  return js.publish(n.convSubject(conversationId, lane), encodeJson(e), { headers: h })
}
for (let i = 0; i < CONVS; i++)
  await publish(
    conv(i),
    'conversation.created',
    {
      kind: 'group',
      title: 'bench',
      members: users.map((userId, k) => ({ userId, role: k === 0 ? 'admin' : 'member' })),
    },
    'm',
    // The creator is an admin among the members, or every reader rejects the creation (ADR 0080).
    users[0],
  )

/** Messages so far per conversation: `n` is dense (the rules reject any other, ADR 0080). */
const messages = new Map<string, number>()
const sendOne = async () => {
  const c = conv(Math.floor(Math.random() * CONVS))
  const k = (counters.get(c) ?? 0) + 1
  counters.set(c, k)
  if (k % 4 === 0) return publish(c, 'receipt.read', { upTo: 1 }, 'r')
  const m = (messages.get(c) ?? 0) + 1
  messages.set(c, m)
  return publish(c, 'message.sent', {
    clientMsgId: `cmid-${id}-bench`,
    deviceId: 'd',
    n: m,
    kind: 'text',
    text: 'hello there',
  })
}
/** Events the views applied (0 until the projector has created its schema). */
const applied = async () =>
  Number(
    (
      await pool
        .query(`SELECT coalesce(sum(last_seq), 0)::int8 AS s FROM "${n.dbSchemas.views}".projector_offsets`)
        .catch(() => ({ rows: [{ s: 0 }] }))
    ).rows[0]?.s ?? 0,
  )

// 0. Catch-up rate of the projector alone: a backlog first, then start it.
{
  const backlog: Promise<unknown>[] = []
  for (let i = 0; i < CATCHUP; i++) {
    backlog.push(sendOne())
    if (backlog.length >= 2000) await Promise.all(backlog.splice(0))
  }
  await Promise.all(backlog)
  // Timed from the moment the process answers on its ops port (its modules loaded): the views'
  // migration, the lease and the consumer's creation are included.
  const child = await startChild(process.env.CATCHUP_PROFILE_DIR)
  const t0 = Date.now()
  const cpu0 = { projector: await child.cpu(), backends: await backendsCpu(CHILD_APP) }
  while ((await applied()) < id) await new Promise((r) => setTimeout(r, 20))
  const secs = (Date.now() - t0) / 1000
  const cpu = (await child.cpu()) - cpu0.projector
  const pg = (await backendsCpu(CHILD_APP)) - cpu0.backends
  console.log(
    `catch-up: ${id} events in ${secs}s = ${Math.round(id / secs)} events/s; CPU projector ${cpu.toFixed(2)}s, its PostgreSQL backends ${pg.toFixed(2)}s`,
  )
  await child.stop()
}

// 1. Live projection at RATE events/s for a few seconds: lag, and CPU per event.
// LIVE_PROFILE_DIR=dir: a CPU profile of the projector process of this step (written as it stops).
{
  const child = await startChild(process.env.LIVE_PROFILE_DIR)
  while ((await applied()) < id) await new Promise((r) => setTimeout(r, 20))
  const lags: number[] = []
  const seconds = 5
  const cpu0 = {
    projector: await child.cpu(),
    pg: await postgresCpu(),
    backends: await backendsCpu(CHILD_APP),
  }
  const startLive = Date.now()
  let sent = 0
  let lastSample = 0
  while (Date.now() - startLive < seconds * 1000) {
    const tick = Date.now()
    const due = Math.floor(((tick - startLive) / 1000) * RATE) - sent
    const batch = []
    for (let i = 0; i < due; i++) batch.push(sendOne())
    sent += due
    await Promise.all(batch)
    if (tick - lastSample >= 100) {
      lastSample = tick
      lags.push(...(await child.metric('projector_lag_seconds')))
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  while ((await applied()) < id) await new Promise((r) => setTimeout(r, 20))
  const cpu = {
    projector: (await child.cpu()) - cpu0.projector,
    pg: (await postgresCpu()) - cpu0.pg,
    backends: (await backendsCpu(CHILD_APP)) - cpu0.backends,
  }
  const batches = (await child.metric('projector_batch_size_count')).reduce((a, b) => a + b, 0)
  await child.stop()
  lags.sort((a, b) => a - b)
  const us = (s: number) => Math.round((s / sent) * 1e6)
  console.log(
    `live: sent ${sent} events in ${seconds}s (${Math.round(sent / seconds)}/s), ${batches} batches`,
  )
  console.log(
    `live: projector_lag_seconds samples p50=${lags[Math.floor(lags.length * 0.5)]} p99=${lags[Math.floor(lags.length * 0.99)]} max=${lags[lags.length - 1]}`,
  )
  console.log(
    `live: CPU per event: projector ${us(cpu.projector)} µs, its PostgreSQL backends ${us(cpu.backends)} µs (every postgres process: ${us(cpu.pg)} µs)`,
  )
}

// 2. Fill up to EVENTS, then time a full rebuild.
const pending: Promise<unknown>[] = []
while (id < EVENTS) {
  pending.push(sendOne())
  if (pending.length >= 2000) await Promise.all(pending.splice(0))
}
await Promise.all(pending)
const jsm = await jetstreamManager(tn.nc)
// Reading alone (NATS fetch + decode, no apply), to split the rebuild's time between the log and PostgreSQL.
const readStart = Date.now()
let read = 0
for (let s = 0; s < n.shards; s++)
  for await (const b of readLog(js, jsm, { stream: n.convStream(s), batch: 2000 })) {
    read += b.length
    for (const e of b) decodeEvent(e.data)
  }
console.log(`read+decode only: ${read} events in ${(Date.now() - readStart) / 1000}s`)
const profile = process.env.PROFILE ? await startProfile() : undefined
const cpu0 = { node: process.cpuUsage(), pg: await postgresCpu(), backends: await backendsCpu(REBUILD_APP) }
const r = await rebuild({
  js,
  jsm,
  pool,
  databaseUrl: tn.stack.databaseUrl,
  names: n,
  batch: Number(process.env.BATCH ?? 2000),
})
const cpu = {
  node: process.cpuUsage(cpu0.node),
  pg: (await postgresCpu()) - cpu0.pg,
  backends: (await backendsCpu(REBUILD_APP)) - cpu0.backends,
}
if (profile) await profile(process.env.PROFILE!)
console.log(
  `rebuild: ${r.events} events in ${r.seconds.toFixed(2)}s = ${Math.round(r.events / r.seconds)} events/s; CPU this process ${((cpu.node.user + cpu.node.system) / 1e6).toFixed(2)}s, its PostgreSQL backends ${cpu.backends.toFixed(2)}s (every postgres process ${cpu.pg.toFixed(2)}s)`,
)
await pool.end()
await tn.cleanup()

async function startProfile() {
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
