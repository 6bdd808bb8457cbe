import { type ChatEvent, encodeJson, laneOf } from '@chatapp/contracts'
import { createLogger } from '@chatapp/kit'
import t from 'tap'
import { applyBatch } from '../src/applier.js'
import type { LogEntry } from '../src/core/project-batch.js'
import { openPool } from '../src/db.js'
import { openOrm } from '../src/orm.js'
import { KEYED_MARKS } from '../src/sql-writer.js'
import { StateCache } from '../src/state-cache.js'
import { created, ev, GROUP, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

const { tn, n, schema, js, q } = await viewsNamespace(1)

/** The members table's scan counters as PostgreSQL's statistics hold them (flushed ones only). */
const counters = async () => {
  const [r] = await q(
    `SELECT seq_scan::int AS seq, n_tup_upd::int AS upd
       FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'members'`,
    [schema],
  )
  return r as { seq: number; upd: number }
}

/**
 * A writer of one conversation's shard as a live one: one connection, so the named statements of
 * every batch share their plan cache, and a state cache, so batches take the fast path. `apply`
 * appends the events and applies them as one batch.
 */
const writer = (t: { teardown: (fn: () => unknown) => void }, conv: string) => {
  const pool = openPool(tn.stack.databaseUrl, 1, createLogger('test', 'silent'))
  t.teardown(() => pool.end())
  const cache = new StateCache()
  const shard = n.shardOf(conv)
  const apply = async (events: ChatEvent[]) => {
    const entries: LogEntry[] = []
    for (const e of events) {
      const seq = await append(js, n, e)
      const subject = n.convSubject(e.conversationId, laneOf(e.type))
      entries.push({ stream: n.convStream(shard), seq, subject, data: encodeJson(e) })
    }
    return applyBatch(pool, schema, shard, entries, { continuity: { kind: 'server' }, cache })
  }
  return { pool, apply }
}

t.test('watermarks are written by key: a batch never scans the members table (ADR 0225)', async (t) => {
  await (await openOrm(tn.stack.databaseUrl, schema)).close(true)
  // A small deployment's members table: a thousand rows of other conversations, analysed. With
  // ten keys assumed for a batch's arrays (the generic plan a named statement gets from its sixth
  // run on), PostgreSQL planned the former UPDATE … FROM unnest(keys) as a hash join over a scan
  // of the whole table — every batch with a receipt or a message read every member row.
  await q(
    `INSERT INTO V.members (conversation_id, user_id, role, active, joined_seq, join_ord, left_seq,
       delivered_up_to, read_up_to)
     SELECT 'c_fill' || lpad((i / 2)::text, 4, '0'), 'u_fill' || lpad(i::text, 4, '0'), 'member', true, 1,
       i % 2, NULL, 0, 0 FROM generate_series(1, 1000) i`,
  )
  await q(`ANALYZE V.members`)
  const { pool, apply } = writer(t, GROUP)
  await apply([created(GROUP, [U.ann, U.bob, U.cat])])
  let last = 0
  // Warm-up: the first runs of each statement shape get custom plans.
  for (let i = 1; i <= 6; i++) {
    const r = await apply([sent(GROUP, U.ann, i)])
    last = r.lastSeq
    await apply([ev('receipt.delivered', GROUP, U.bob, { upTo: last })])
  }
  // Statistics reach the shared counters when a backend goes idle, at most once a second unless
  // forced: force the applying connection's next report, then wait for its updates to show.
  const flushed = async (after: { upd: number }): Promise<{ seq: number; upd: number }> => {
    await pool.query('SELECT pg_stat_force_next_flush()')
    const c = await waitFor(
      async () => {
        const c = await counters()
        return c.upd > after.upd ? c : undefined
      },
      15_000,
      'the members statistics',
    )
    return c!
  }
  const before = await flushed({ upd: -1 })
  for (let i = 7; i <= 16; i++) {
    const r = await apply([sent(GROUP, U.ann, i)])
    last = r.lastSeq
    await apply([
      ev('receipt.delivered', GROUP, U.bob, { upTo: last }),
      ev('receipt.read', GROUP, U.cat, { upTo: last }),
    ])
  }
  const after = await flushed(before)
  t.equal(after.seq - before.seq, 0, 'no sequential scan of members in 20 batches')
  t.ok(after.upd - before.upd >= 20, `the watermarks were written (${after.upd - before.upd} row updates)`)
  const rows = await q(
    'SELECT user_id, delivered_up_to::int AS d, read_up_to::int AS r FROM V.members WHERE conversation_id = $1 ORDER BY user_id',
    [GROUP],
  )
  t.same(rows, [
    { user_id: U.ann, d: last, r: last },
    { user_id: U.bob, d: last, r: 0 },
    { user_id: U.cat, d: last, r: last },
  ])
})

t.test('a batch with more watermarks than KEYED_MARKS writes them all (the joined UPDATE)', async (t) => {
  const conv = 'c_many0001'
  const users = Array.from({ length: KEYED_MARKS + 16 }, (_, i) => `u_m${String(i).padStart(6, '0')}`)
  const { apply } = writer(t, conv)
  await apply([created(conv, users)])
  const m = (await apply([sent(conv, users[0]!, 1)])).lastSeq
  const r = await apply(users.slice(1).map((u) => ev('receipt.delivered', conv, u, { upTo: m })))
  t.equal(r.applied, users.length - 1)
  const rows = await q(
    'SELECT count(*)::int AS n FROM V.members WHERE conversation_id = $1 AND delivered_up_to = $2',
    [conv, m],
  )
  t.equal(rows[0].n, users.length, 'every member delivered up to the message (its sender by sending)')
})
