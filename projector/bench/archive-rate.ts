/**
 * A quick, bounded measurement of the archiver (not part of the test suite, about a minute): in
 * a scratch namespace, one shard stream is seeded with EVENTS message events of ~100 B of text
 * (the reference size, docs/capacity.md) over CONVS conversations; one archiver then copies it
 * into segments of SEGMENT events (store, read back, check, heads, checkpoint: the real path),
 * and the archive is read back through the reader replay and rebuild use. Also compares gzip
 * and brotli on one segment's worth of lines. Run:
 *   cd projector && source ../.data/test.env && EVENTS=200000 \
 *     node --import=../infra/scripts/ts-loader.mjs bench/archive-rate.ts
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import { encodeJson, HEADERS } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { createArchiveReader, createLogger, s3ArchiveStore, s3ClientOf } from '@chatapp/kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { headers } from '@nats-io/nats-core'
import { openArchiveDb } from '../src/archive/archive-heads.js'
import { ShardArchiver } from '../src/archive/shard-archiver.js'
import { openPool } from '../src/db.js'

const EVENTS = Number(process.env.EVENTS ?? 200_000)
const SEGMENT = Number(process.env.SEGMENT ?? 50_000)
const CONVS = Number(process.env.CONVS ?? 2000)

const tn = await createTestNamespace({ shards: 1 })
const n = tn.names
const js = jetstream(tn.nc)
const jsm = await jetstreamManager(tn.nc)
const pool = openPool(tn.stack.databaseUrl, 2, createLogger('test', 'silent'))
const s3 = s3ClientOf(tn.stack.s3)
const store = s3ArchiveStore(s3, n.archiveBucket)
const db = openArchiveDb(tn.stack.databaseUrl, n.dbSchemas.archive, createLogger('test', 'silent'))
await db.migrate()
const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

try {
  // Chat-like text: words drawn from a small vocabulary (a seeded generator), 20–180 characters,
  // so compression sees repetition of words, not of whole messages.
  const words =
    'the a to and you I it is at on for we be this that meet station seven tickets eat way ok yes no lol see later tomorrow today home work call now soon love thanks sorry what when where why how'.split(
      ' ',
    )
  let seed = 42
  const rand = () => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0
    return seed / 2 ** 32
  }
  const textOf = () => {
    const len = 20 + Math.floor(rand() * 160)
    let t = ''
    while (t.length < len) t += `${words[Math.floor(rand() * words.length)]} `
    return t.trim()
  }
  let payloadBytes = 0
  const t0 = performance.now()
  const inFlight: Promise<unknown>[] = []
  for (let i = 1; i <= EVENTS; i++) {
    const c = `c_bench${String(i % CONVS).padStart(5, '0')}`
    const e = {
      v: 1,
      id: `e-${i}`,
      type: 'message.sent',
      conversationId: c,
      actor: 'u_ann00001',
      at: Date.now(),
      data: {
        clientMsgId: `cm_${i}`,
        deviceId: 'dev1',
        n: Math.ceil(i / CONVS),
        kind: 'text',
        text: textOf(),
      },
    }
    const data = encodeJson(e as never)
    payloadBytes += data.length
    const h = headers()
    h.set(HEADERS.eventType, e.type)
    h.set(HEADERS.prev, String(Math.max(0, i - CONVS)))
    inFlight.push(js.publish(n.convSubject(c, 'm'), data, { headers: h }))
    if (inFlight.length >= 500) await Promise.all(inFlight.splice(0))
  }
  await Promise.all(inFlight)
  const seeded = (performance.now() - t0) / 1000
  const last = (await jsm.streams.info(n.convStream(0))).state.last_seq
  console.log(
    `seeded ${last} events (${(payloadBytes / 1e6).toFixed(1)} MB of payload) in ${seeded.toFixed(1)} s`,
  )

  const archiver = new ShardArchiver({
    js,
    jsm,
    pool,
    db,
    store,
    viewsSchema: n.dbSchemas.views,
    stream: n.convStream(0),
    subjects: n.convStreamSubjects(0),
    shard: 0,
    limits: { maxEvents: SEGMENT, maxBytes: 1 << 30, maxAgeMs: 0 },
    hot: { maxAgeMs: 0, maxBytes: 0 },
    pollMs: 20,
    log: createLogger('bench', (process.env.LOG_LEVEL as 'warn') ?? 'silent'),
  })
  const c0 = cpu()
  const a0 = performance.now()
  await archiver.start()
  while (archiver.checkpoint().archivedTo < last) await new Promise((r) => setTimeout(r, 20))
  const secs = (performance.now() - a0) / 1000
  const used = cpu() - c0
  await archiver.stop()
  const cp = archiver.checkpoint()
  console.log(
    `archived ${cp.events} events in ${cp.segments} segments in ${secs.toFixed(2)} s: ` +
      `${Math.round(cp.events / secs)} events/s, ${(payloadBytes / 1e6 / secs).toFixed(1)} MB/s of payload, ` +
      `${(cp.bytes / 1e6).toFixed(2)} MB stored (${(cp.bytes / payloadBytes).toFixed(3)} of the payload), ` +
      `archiver CPU ${used.toFixed(2)} s (${((used / cp.events) * 1e6).toFixed(1)} µs/event)`,
  )

  const reader = createArchiveReader(store)
  const r0 = performance.now()
  let read = 0
  for await (const _ of reader.read(0, 0, last)) read++
  const rs = (performance.now() - r0) / 1000
  console.log(`read back ${read} events in ${rs.toFixed(2)} s: ${Math.round(read / rs)} events/s`)

  const lines: string[] = []
  for await (const m of reader.read(0, 0, Math.min(last, SEGMENT)))
    lines.push(
      JSON.stringify({
        seq: m.seq,
        subject: m.subject,
        at: m.at,
        headers: m.headers,
        text: Buffer.from(m.data).toString(),
      }),
    )
  const raw = Buffer.from(lines.join('\n'))
  for (const [name, f] of [
    ['gzip -6', () => gzipSync(raw, { level: 6 })],
    ['gzip -9', () => gzipSync(raw, { level: 9 })],
    ['brotli 5', () => brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })],
    ['brotli 9', () => brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } })],
  ] as const) {
    const s = performance.now()
    const out = f()
    const ms = performance.now() - s
    console.log(
      `${name}: ${(raw.length / 1e6).toFixed(1)} MB → ${(out.length / 1e6).toFixed(2)} MB (${(out.length / raw.length).toFixed(3)}), ${(raw.length / 1e6 / (ms / 1000)).toFixed(0)} MB/s`,
    )
  }
} finally {
  await db.close()
  await pool.end()
  s3.destroy()
  await tn.cleanup()
}
