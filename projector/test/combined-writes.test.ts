import { fileURLToPath } from 'node:url'
import { type ChatEvent, encodeJson, laneOf } from '@chatapp/contracts'
import { createLogger } from '@chatapp/kit'
import t from 'tap'
import { applyBatch } from '../src/applier.js'
import { runCombined, type ShardPart } from '../src/combined-writes.js'
import type { LogEntry } from '../src/core/project-batch.js'
import { openPool } from '../src/db.js'
import { shardLockKey } from '../src/offsets.js'
import { outboxWrite } from '../src/outbox.js'
import { StateCache } from '../src/state-cache.js'
import { StatementCombiner } from '../src/statement-combiner.js'
import { created, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { killHard, spawnScript } from './support/projector-process.js'
import { viewsNamespace } from './support/views-namespace.js'

/** ADR 0226: the fast-path batches of a process's shards, as one statement. */
t.setTimeout(90_000)
const SHARDS = 4
const { tn, n, schema, js, pool, q, offsetOf, start, verify } = await viewsNamespace(SHARDS)
const child = fileURLToPath(new URL('./support/combined-crash-child.mjs', import.meta.url))

/** A conversation id on each shard, from `prefix`. */
const onEachShard = (prefix: string): string[] => {
  const by = new Map<number, string>()
  for (let i = 0; by.size < SHARDS; i++) {
    const id = `c_${prefix}${String(i).padStart(4, '0')}`
    if (!by.has(n.shardOf(id))) by.set(n.shardOf(id), id)
  }
  return [...by.entries()].sort(([a], [b]) => a - b).map(([, id]) => id)
}

/** Appends the events and returns them as the log entries a consumer would deliver. */
const logged = async (events: ChatEvent[]): Promise<LogEntry[]> => {
  const out: LogEntry[] = []
  for (const e of events) {
    const seq = await append(js, n, e)
    out.push({
      stream: n.convStream(n.shardOf(e.conversationId)),
      seq,
      subject: n.convSubject(e.conversationId, laneOf(e.type)),
      data: encodeJson(e),
    })
  }
  return out
}

const messagesOf = async (conv: string) =>
  (await q('SELECT n FROM V.messages WHERE conversation_id = $1 ORDER BY seq', [conv])).map(
    (r) => r.n as number,
  )

t.test('the shards due together go in one statement, each with its offset', async (t) => {
  // A projector started once migrates the schema and writes the offset rows; stopped at once.
  await (await start()).stop()
  const convs = onEachShard('many')
  const own = openPool(tn.stack.databaseUrl, 2, createLogger('test', 'silent'))
  t.teardown(() => own.end())
  const sizes: number[] = []
  const combiner = new StatementCombiner(own, schema, (k) => sizes.push(k))
  const caches = new Map(convs.map((c) => [c, new StateCache()]))
  const apply = (c: string, entries: LogEntry[]) =>
    applyBatch(own, schema, n.shardOf(c), entries, {
      continuity: { kind: 'server' },
      cache: caches.get(c)!,
      combiner,
    })
  // Creations first: a cache that knows nothing takes the careful path.
  for (const c of convs) await apply(c, await logged([created(c, [U.ann, U.bob])]))
  sizes.length = 0
  for (let k = 1; k <= 3; k++) {
    const batches = await Promise.all(
      convs.map((c) => logged([sent(c, U.ann, 2 * k - 1), sent(c, U.bob, 2 * k)])),
    )
    const results = await Promise.all(convs.map((c, i) => apply(c, batches[i]!)))
    t.same(
      results.map((r) => r.applied),
      convs.map(() => 2),
    )
    for (const [i, c] of convs.entries())
      t.equal(
        await offsetOf(n.shardOf(c)),
        batches[i]!.at(-1)!.seq,
        `shard ${n.shardOf(c)} at its batch's end`,
      )
  }
  t.same(sizes, [SHARDS, SHARDS, SHARDS], 'each round was one statement of every shard')
  for (const c of convs) t.same(await messagesOf(c), [1, 2, 3, 4, 5, 6])

  // Another writer moves one shard: the next combined statement fails as a whole (its guard for
  // that shard does not hold), and every shard's batch is applied by its careful path instead.
  const moved = convs[1]!
  // Its event comes to this writer too (as a redelivery would): the batch follows the offset this
  // writer knows, so its fast path writes, and the guard finds the shard moved.
  const theirs = await logged([sent(moved, U.ann, 7)])
  await applyBatch(own, schema, n.shardOf(moved), theirs, {
    continuity: { kind: 'server' },
    cache: new StateCache(),
  })
  const batches = await Promise.all(
    convs.map(async (c) =>
      c === moved
        ? [...theirs, ...(await logged([sent(c, U.bob, 8)]))]
        : logged([sent(c, U.ann, 7), sent(c, U.bob, 8)]),
    ),
  )
  const results = await Promise.all(convs.map((c, i) => apply(c, batches[i]!)))
  t.same(
    results.map((r) => [r.applied, r.skipped]),
    convs.map((c) => (c === moved ? [1, 1] : [2, 0])),
    'the moved shard skips what the other writer applied',
  )
  t.same(sizes.slice(3), [SHARDS], 'the combined statement was tried, with every shard')
  for (const c of convs) t.same(await messagesOf(c), [1, 2, 3, 4, 5, 6, 7, 8], `${c}: each message once`)
})

t.test('a combined statement writes all its shards or none', async (t) => {
  const at = async (shard: number) => {
    const [r] = await q('SELECT last_seq, xmin::text AS version FROM V.projector_offsets WHERE shard = $1', [
      shard,
    ])
    return { offset: Number(r.last_seq), version: String(r.version) }
  }
  const part = async (shard: number, id: string, stale = false): Promise<ShardPart> => {
    const from = await at(shard)
    return {
      shard,
      from: stale ? { ...from, version: String(Number(from.version) - 1) } : from,
      lastSeq: from.offset + 1,
      lastAt: Date.now(),
      writes: [
        outboxWrite(schema, [{ id, shard, seq: from.offset + 1, subject: 'test.none', payload: '{}' }]),
      ],
    }
  }
  const before = await Promise.all([0, 1, 2].map(at))
  const outboxIds = async () =>
    (await q(`SELECT id FROM V.effect_outbox WHERE id LIKE 'test:%'`)).map((r) => r.id)

  await t.rejects(
    runCombined(pool, schema, [
      await part(0, 'test:a'),
      await part(1, 'test:b', true),
      await part(2, 'test:c'),
    ]),
    /1 shard\(s\) moved since read/,
    'one guard did not hold: the statement fails',
  )
  t.same(await Promise.all([0, 1, 2].map(at)), before, 'no offset moved')
  t.same(await outboxIds(), [], 'nothing written')

  t.equal(
    await runCombined(pool, schema, [await part(0, 'test:a', true), await part(1, 'test:b', true)]),
    undefined,
    'no guard held: nothing to report',
  )
  t.same(await Promise.all([0, 1, 2].map(at)), before, 'no offset moved')
  t.same(await outboxIds(), [], 'nothing written')

  const moved = await runCombined(pool, schema, [await part(0, 'test:a'), await part(1, 'test:b')])
  t.same([...(moved?.keys() ?? [])].sort(), [0, 1])
  t.same((await outboxIds()).sort(), ['test:a', 'test:b'])
  t.equal((await at(0)).offset, before[0]!.offset + 1)
  // Put the offsets back for the next test: these rows were not events of the log.
  await q('DELETE FROM V.effect_outbox WHERE id LIKE $1', ['test:%'])
  for (const s of [0, 1])
    await q('UPDATE V.projector_offsets SET last_seq = $2 WHERE shard = $1', [s, before[s]!.offset])
})

t.test('the outbox rows several shards published go in one DELETE', async (t) => {
  const own = openPool(tn.stack.databaseUrl, 2, createLogger('test', 'silent'))
  t.teardown(() => own.end())
  const statements: string[] = []
  const query = own.query.bind(own)
  own.query = ((...a: Parameters<typeof own.query>) => {
    statements.push(String(a[0]).split(' ')[0]!)
    return query(...a)
  }) as typeof own.query
  const combiner = new StatementCombiner(own, schema)
  const ids = [0, 1, 2].map((s) => [`test:d${s}a`, `test:d${s}b`])
  await q(
    `INSERT INTO V.effect_outbox (id, shard, seq, subject, payload)
     SELECT id, 0, 1, 'test.none', '{}' FROM unnest($1::text[]) AS id`,
    [ids.flat()],
  )
  // The relays of three shards, done publishing in the same turn.
  await Promise.all(ids.map((l) => combiner.deleteOutbox(l)))
  t.same(statements, ['DELETE'], 'one statement')
  t.same(await q(`SELECT id FROM V.effect_outbox WHERE id LIKE 'test:d%'`), [], 'every row deleted')
})

t.test('kill -9 after a combined statement committed, before any ack: views equal the log', async (t) => {
  const convs = onEachShard('kill')
  for (const c of convs) await append(js, n, created(c, [U.ann, U.bob]))
  const proc = spawnScript(child, tn)
  t.teardown(() => killHard(proc))
  let out = ''
  proc.stdout!.on('data', (d) => {
    out += d
  })
  await waitFor(async () => out.includes('started'), 30_000, 'the child projector')
  // Messages on every shard at once, until a statement carries two shards or more.
  let k = 0
  await waitFor(
    async () => {
      k++
      await Promise.all(convs.map((c) => append(js, n, sent(c, U.ann, k))))
      return out.includes('combined ')
    },
    30_000,
    'a combined statement',
  )
  const shards = out.split('combined ')[1]!.split('\n')[0]!.split(',').map(Number)
  t.ok(shards.length >= 2, `committed together: shards ${shards}`)
  await killHard(proc)
  // More after the kill; then a fresh projector goes on from the stored offsets.
  k++
  const last = await Promise.all(convs.map((c) => append(js, n, sent(c, U.bob, k))))
  const p = await start()
  t.teardown(() => p.stop())
  for (const [i, c] of convs.entries())
    await waitFor(async () => (await offsetOf(n.shardOf(c))) >= last[i]!, 20_000, `shard ${n.shardOf(c)}`)
  for (const c of convs)
    t.same(
      await messagesOf(c),
      Array.from({ length: k }, (_, i) => i + 1),
      `${c}: every message once, in order`,
    )
  t.same((await verify()).differences, [], 'the views equal the log')
})

t.test(
  'a combined statement takes its shards locks in shard order: a rebuild switch-over taking them 0, 1, 2, 3 never deadlocks with it',
  async (t) => {
    await q(`INSERT INTO V.projector_offsets (shard, last_seq, last_at, updated_at)
    SELECT s, 0, 0, now() FROM generate_series(0, 3) s ON CONFLICT DO NOTHING`)
    const at = async (shard: number) => {
      const [r] = await q(
        'SELECT last_seq, xmin::text AS version FROM V.projector_offsets WHERE shard = $1',
        [shard],
      )
      return { offset: Number(r.last_seq), version: String(r.version) }
    }
    const parts: ShardPart[] = []
    for (const shard of [3, 2, 1, 0]) {
      const from = await at(shard)
      parts.push({ shard, from, lastSeq: from.offset, lastAt: Date.now(), writes: [] })
    }
    const own = openPool(tn.stack.databaseUrl, 2, createLogger('test', 'silent'))
    t.teardown(() => own.end())
    const rebuild = await own.connect()
    t.teardown(() => rebuild.release())
    const key = shardLockKey(schema)
    await rebuild.query('BEGIN')
    await rebuild.query('SELECT pg_advisory_xact_lock($1, 0)', [key])
    const combined = runCombined(own, schema, parts)
    combined.catch(() => {})
    // The statement is waiting for a shard lock the switch-over holds.
    await waitFor(
      async () =>
        (await q(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`))[0]
          .n > 0,
      10_000,
      'the combined statement waiting',
    )
    const t0 = Date.now()
    for (const s of [1, 2, 3]) await rebuild.query('SELECT pg_advisory_xact_lock($1, $2)', [key, s])
    t.ok(Date.now() - t0 < 900, 'the switch-over took the other locks at once, not after a deadlock timeout')
    await rebuild.query('COMMIT')
    const moved = await combined
    t.same([...(moved?.keys() ?? [])].sort(), [0, 1, 2, 3], 'the combined statement then went through')
  },
)
