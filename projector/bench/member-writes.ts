/**
 * A quick, bounded measurement (not part of the test suite, about a minute): what one batch's
 * watermark writes cost, as the members upsert by key (ADR 0225) and as the joined
 * `UPDATE … FROM unnest(keys)`, by the number of watermarks in the batch. It chooses
 * `KEYED_MARKS` (sql-writer.ts): the projector's CPU (planning the writes, serialising the
 * arrays, the round trip) and its PostgreSQL backend's, per statement, both forms alternated on one
 * connection (named statements, so generic plans from the sixth run on, as live batches get).
 * Two shapes: `group` (the watermarks of one group's members, 1,024 of them) and `pairs` (one per
 * one-to-one conversation, two members each). The members table holds both, analysed: 3,024 rows
 * by default; GROUP_SIZE and PAIRS change that (PostgreSQL's generic plan for the join depends on
 * the table's size: a scan of the whole table below some thousands of rows, ADR 0225). Run:
 *   cd projector && source ../.data/test.env && \
 *     node --import=../infra/scripts/ts-loader.mjs bench/member-writes.ts
 * SIZES=4,16,64 and ROUNDS=400 choose what is measured.
 */
import { readFile } from 'node:fs/promises'
import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import { emptyPlan } from '../src/core/batch-plan.js'
import type { MemberRow } from '../src/core/rows.js'
import { openPool } from '../src/db.js'
import { openOrm } from '../src/orm.js'
import { planWrites, runWrites } from '../src/sql-writer.js'

const SIZES = (process.env.SIZES ?? '2,4,8,16,32,64,128,256').split(',').map(Number)
const ROUNDS = Number(process.env.ROUNDS ?? 400)
const GROUP_SIZE = Number(process.env.GROUP_SIZE ?? 1024)
const PAIRS = Number(process.env.PAIRS ?? 1000)

const tn = await createTestNamespace({ shards: 1 })
const schema = tn.names.dbSchemas.views
await (await openOrm(tn.stack.databaseUrl, schema)).close(true)
const pool = openPool(tn.stack.databaseUrl, 1, createLogger('bench', 'silent'))
const s = `"${schema}"`

const member = (conversationId: string, userId: string): MemberRow => ({
  conversationId,
  userId,
  role: 'member',
  active: true,
  joinedSeq: 1,
  joinOrd: 0,
  leftSeq: null,
})
const group = Array.from({ length: GROUP_SIZE }, (_, i) => member('g_big', `u_g${i}`))
const pairs = Array.from({ length: PAIRS }, (_, i) => member(`c_p${i}`, `u_p${i}`))
await pool.query(
  `INSERT INTO ${s}.members (conversation_id, user_id, role, active, joined_seq, join_ord, left_seq,
     delivered_up_to, read_up_to)
   SELECT c, u, 'member', true, 1, 0, NULL, 0, 0 FROM unnest($1::text[], $2::text[]) AS v(c, u)`,
  [
    [...group, ...pairs, ...pairs].map((m) => m.conversationId),
    [...group, ...pairs, ...pairs.map((m) => ({ userId: `${m.userId}b` }))].map((m) => m.userId),
  ],
)
await pool.query(`ANALYZE ${s}.members`)

/** CPU seconds of one process (from /proc). */
const cpuOfPid = async (pid: number): Promise<number> => {
  const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
const backend = Number((await pool.query('SELECT pg_backend_pid() AS pid')).rows[0].pid)

let mark = 0
/** One batch of `size` watermarks of `shape`, every one forward, in the given form. */
const batch = async (shape: 'group' | 'pairs', size: number, keyedMarks: number) => {
  const plan = emptyPlan()
  const rows = shape === 'group' ? group : pairs
  mark++
  for (let i = 0; i < size; i++) {
    const m = rows[(mark * size + i) % rows.length]!
    plan.watermarks.set(m.conversationId, m.userId, {
      conversationId: m.conversationId,
      userId: m.userId,
      delivered: mark,
      read: 0,
      member: m,
    })
  }
  await runWrites(pool, planWrites(schema, plan, { keyedMarks }))
}

/** Node and backend CPU per statement, in µs, over `ROUNDS` batches. */
const measure = async (shape: 'group' | 'pairs', size: number, keyedMarks: number) => {
  for (let i = 0; i < 8; i++) await batch(shape, size, keyedMarks)
  const b0 = await cpuOfPid(backend)
  const c0 = process.cpuUsage()
  for (let i = 0; i < ROUNDS; i++) await batch(shape, size, keyedMarks)
  const c = process.cpuUsage(c0)
  const b = (await cpuOfPid(backend)) - b0
  return { node: (c.user + c.system) / ROUNDS, pg: (b * 1e6) / ROUNDS }
}

const f = (x: number) => x.toFixed(0).padStart(6)
console.log('shape  size   keyed: node     pg  total   joined: node     pg  total')
for (const shape of GROUP_SIZE > 0 ? (['pairs', 'group'] as const) : (['pairs'] as const))
  for (const size of SIZES) {
    const k1 = await measure(shape, size, Number.POSITIVE_INFINITY)
    const j1 = await measure(shape, size, -1)
    const k2 = await measure(shape, size, Number.POSITIVE_INFINITY)
    const j2 = await measure(shape, size, -1)
    const k = { node: (k1.node + k2.node) / 2, pg: (k1.pg + k2.pg) / 2 }
    const j = { node: (j1.node + j2.node) / 2, pg: (j1.pg + j2.pg) / 2 }
    console.log(
      `${shape.padEnd(6)} ${String(size).padStart(4)}  ${f(k.node)} ${f(k.pg)} ${f(k.node + k.pg)}        ${f(j.node)} ${f(j.pg)} ${f(j.node + j.pg)}`,
    )
  }
await pool.end()
await tn.cleanup()
