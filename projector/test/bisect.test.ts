import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import pg from 'pg'
import t from 'tap'
import { type Applied, type Attempt, applyBisecting } from '../src/bisect.js'
import type { LogEntry } from '../src/core/project-batch.js'
import { inTransaction, openPool } from '../src/db.js'
import { failureKind, refusalOf } from '../src/db-refusal.js'

/** Bisection against the real PostgreSQL: what it refuses, and what it does not explain. */
const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
const pool = openPool(tn.stack.databaseUrl, 2, createLogger('test', 'silent'))
t.teardown(() => pool.end())
const table = `"${tn.names.dbSchemas.views}".bisect_probe`
await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (seq int8 PRIMARY KEY, body text NOT NULL)`)

const entries = (bodies: string[]): LogEntry[] =>
  bodies.map((b, i) => ({ stream: 's', seq: i + 1, subject: 'x', data: new TextEncoder().encode(b) }))

/** Stores each body as text in one transaction; a refused entry is recorded instead. */
const storing =
  (
    counter: { n: number },
    sql = `INSERT INTO ${table} SELECT * FROM unnest($1::int8[], $2::text[])`,
  ): Attempt =>
  async (part, refused) => {
    counter.n++
    const keep = part.filter((e) => !refused.has(e.seq))
    await inTransaction(pool, (db) =>
      db.query(sql, [keep.map((e) => e.seq), keep.map((e) => new TextDecoder().decode(e.data))]),
    )
    const r: Applied = {
      deadLetters: part
        .filter((e) => refused.has(e.seq))
        .map((e) => ({
          v: 1,
          source: 't',
          stream: 's',
          seq: e.seq,
          subject: 'x',
          code: 'EVENT_INVALID',
          reason: refused.get(e.seq)!,
          payload: '',
          at: 0,
        })),
      effects: [],
      applied: keep.length,
      skipped: 0,
      byType: {},
      lastSeq: part[part.length - 1]?.seq ?? 0,
      lastAt: 0,
    }
    return r
  }

t.test(
  'finds the one event PostgreSQL refuses in a batch, dead-letters it and applies the rest',
  async (t) => {
    await pool.query(`TRUNCATE ${table}`)
    const bodies = Array.from({ length: 64 }, (_, i) => (i === 41 ? 'bad \u0000 byte' : `ok ${i}`))
    const counter = { n: 0 }
    const r = await applyBisecting(entries(bodies), storing(counter))
    t.equal(r.applied, 63)
    t.match(r.deadLetters, [{ seq: 42, reason: /^PostgreSQL refused it: SQLSTATE 22021 / }])
    t.equal(r.lastSeq, 64)
    t.ok(counter.n <= 2 * Math.log2(64) + 2, `${counter.n} attempts for 64 events`)
    t.equal((await pool.query(`SELECT count(*)::int AS c FROM ${table}`)).rows[0].c, 63)
  },
)

t.test('two refused events in one batch are both found', async (t) => {
  await pool.query(`TRUNCATE ${table}`)
  const bodies = Array.from({ length: 10 }, (_, i) => (i === 0 || i === 7 ? '\u0000' : `ok ${i}`))
  const r = await applyBisecting(entries(bodies), storing({ n: 0 }))
  t.same(
    r.deadLetters.map((d) => d.seq),
    [1, 8],
  )
  t.equal(r.applied, 8)
})

t.test('an error that no event explains is thrown as it is, after one attempt', async (t) => {
  const counter = { n: 0 }
  const missing = storing(
    counter,
    'INSERT INTO no_such_table_here SELECT * FROM unnest($1::int8[], $2::text[])',
  )
  const err = await applyBisecting(entries(['a', 'b', 'c']), missing).catch((e: unknown) => e)
  t.equal((err as pg.DatabaseError).code, '42P01')
  t.equal(counter.n, 1)
  t.equal(refusalOf(err), undefined)
  t.equal(failureKind(err), 'unexpected')
})

t.test('an unreachable database is transient, never a refusal', async (t) => {
  const dead = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres' })
  const err = await dead.connect().catch((e: unknown) => e)
  t.equal(refusalOf(err), undefined)
  t.equal(failureKind(err), 'transient')
})
