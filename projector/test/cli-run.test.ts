import type { ChatEvent } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import { jetstream } from '@nats-io/jetstream'
import { Registry } from 'prom-client'
import t from 'tap'
import { type CliIo, runCli } from '../src/cli-run.js'
import { openPool } from '../src/db.js'
import { startProjector } from '../src/projector.js'
import { viewChecksums } from '../src/view-compare.js'
import { created, ev, GROUP, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'

/** The CLI end to end, in-process, against a namespace the live projector keeps current. */
const tn = await createTestNamespace({ shards: 2 })
t.teardown(tn.cleanup)
const n = tn.names
const schema = n.dbSchemas.views
const js = jetstream(tn.nc)
const pool = openPool(tn.stack.databaseUrl, 4, createLogger('test', 'silent'))
t.teardown(() => pool.end())
const projector = await startProjector({
  nc: tn.nc,
  pool,
  databaseUrl: tn.stack.databaseUrl,
  names: n,
  batch: 100,
  log: createLogger('test', 'silent'),
  registry: new Registry(),
})
t.teardown(projector.stop)

const cli = async (...argv: string[]) => {
  let out = ''
  let err = ''
  const io: CliIo = {
    out: (s) => (out += s),
    err: (s) => (err += s),
    isTTY: false,
    env: { ...tn.env, LOG_LEVEL: 'silent' },
  }
  const code = await runCli(argv, io)
  return { code, out, err }
}
const offsetOf = async (shard: number) =>
  Number(
    (await pool.query(`SELECT last_seq FROM "${schema}".projector_offsets WHERE shard = $1`, [shard])).rows[0]
      ?.last_seq ?? 0,
  )
const settled = async (conversationId: string, seq: number) =>
  waitFor(async () => (await offsetOf(n.shardOf(conversationId))) >= seq, 10_000, `projection of ${seq}`)

// A little history over both shards, with every lane and a poison message.
const OTHER = 'c_other0001'
await append(js, n, created(GROUP))
const first = await append(js, n, sent(GROUP, U.bob, 1, 'first'))
await append(js, n, ev('member.added', GROUP, U.ann, { userId: U.dan, role: 'member' }))
await append(js, n, ev('receipt.read', GROUP, U.cat, { upTo: first }))
const lastGroup = await append(js, n, sent(GROUP, U.dan, 2, 'second'))
await append(js, n, created(OTHER, [U.cat, U.dan]))
await js.publish(n.convSubject(OTHER, 'm'), new TextEncoder().encode('not json'))
const lastOther = await append(js, n, ev('member.left', OTHER, U.cat, { userId: U.cat }))
// A send retried after the JetStream duplicate window: stored twice (the retry numbered as the
// next message, as the gateway decides it), shown once (the first).
const RETRY = 'c_retry0001'
await append(js, n, created(RETRY, [U.ann, U.bob]))
await append(js, n, sent(RETRY, U.ann, 1, 'once'))
const retried = {
  ...sent(RETRY, U.ann, 2, 'once, retried late'),
  data: { ...sent(RETRY, U.ann, 1).data, n: 2, text: 'once, retried late' },
  id: 'late-retry-of-cmid-1',
} as ChatEvent
const lastRetry = await append(js, n, retried)
await settled(GROUP, lastGroup)
await settled(OTHER, lastOther)
await settled(RETRY, lastRetry)
// What the live projector made of the log, before any test touches the views.
const liveChecksums = await viewChecksums(pool, schema)

t.test('--help and usage errors', async (t) => {
  const help = await cli('--help')
  t.equal(help.code, 0)
  t.match(help.out, /replay <conversation>/)
  t.equal((await cli()).code, 2)
  t.match(await cli('nope'), { code: 2, err: /unknown command "nope"/ })
  t.match(await cli('replay', 'not-an-id'), { code: 2, err: /conversation id/ })
  t.match(await cli('replay', GROUP, '--from-seq', '1', '--since', '2020-01-01'), { code: 2 })
  t.match(await cli('replay', GROUP, '--since', 'yesterday-ish'), { code: 2, err: /--since/ })
  t.match(await cli('rebuild', '--view', 'nope'), { code: 2, err: /--view must be one of/ })
  t.match(await cli('lag', '--frobnicate'), { code: 2 })
})

t.test('replay prints the conversation’s events in order as a table', async (t) => {
  const r = await cli('replay', GROUP)
  t.equal(r.code, 0)
  const lines = r.out.trim().split('\n')
  t.match(lines[0], /^SEQ\s+TIME\s+TYPE\s+ACTOR\s+SUMMARY$/)
  t.equal(lines.length, 6)
  t.match(lines[1], /conversation\.created .*group "Team"/)
  t.match(lines[2], /message\.sent\s+u_bob0001\s+#1 text "first"/)
  t.match(lines[4], /receipt\.read\s+u_cat0001\s+read up to/)
  const json = JSON.parse((await cli('replay', GROUP, '--json', '--from-seq', String(first))).out)
  t.same(
    json.map((l: { type: string }) => l.type),
    ['message.sent', 'member.added', 'receipt.read', 'message.sent'],
  )
  const bad = JSON.parse((await cli('replay', OTHER, '--json')).out)
  t.same(
    bad.map((l: { type: string }) => l.type),
    ['conversation.created', '(invalid)', 'member.left'],
  )
  t.match((await cli('replay', 'c_nothing01')).out, /no events for c_nothing01/)
  const since = JSON.parse(
    (await cli('replay', GROUP, '--json', '--since', new Date(Date.now() + 60_000).toISOString())).out,
  )
  t.same(since, [])
})

t.test('lag shows every consumer caught up', async (t) => {
  const r = await cli('lag', '--json')
  t.equal(r.code, 0)
  const rows = JSON.parse(r.out)
  t.equal(rows.length, 2)
  for (const row of rows) t.match(row, { exists: true, pending: 0, oldestAgeSeconds: 0 })
  t.match((await cli('lag')).out, /CONSUMER\s+STREAM\s+LAST SEQ\s+APPLIED\s+PENDING\s+OLDEST PENDING/)
})

t.test('dead-letters lists the poison message', async (t) => {
  const r = JSON.parse((await cli('dead-letters', '--json')).out)
  t.equal(r.length, 1)
  t.match(r[0], { code: 'EVENT_INVALID', stream: n.convStream(n.shardOf(OTHER)) })
  t.match((await cli('dead-letters')).out, /EVENT_INVALID/)
})

t.test('verify agrees with the live views, then reports an injected difference', async (t) => {
  const ok = await cli('verify')
  t.equal(ok.code, 0, ok.err)
  t.match(ok.out, /no differences/)
  await pool.query(`UPDATE "${schema}".messages SET text = 'tampered' WHERE conversation_id = $1 AND n = 1`, [
    GROUP,
  ])
  await pool.query(`DELETE FROM "${schema}".members WHERE conversation_id = $1 AND user_id = $2`, [
    OTHER,
    U.dan,
  ])
  const bad = await cli('verify', '--json')
  t.equal(bad.code, 1)
  const diffs = JSON.parse(bad.out).differences
  t.match(diffs, [
    { view: 'members', kind: 'missing', key: { conversation_id: OTHER, user_id: U.dan } },
    { view: 'messages', kind: 'differs', columns: { text: ['tampered', 'first'] } },
  ])
  const one = await cli('verify', '--conversation', GROUP)
  t.equal(one.code, 1)
  t.match(one.out, /messages\s+c_group001\/\d+\s+differs\s+text: "tampered" ≠ "first"/)
  t.notMatch(one.out, /members/, 'only the conversation asked for')
})

t.test(
  'rebuild switches to fresh views equal to the live projection, while it keeps projecting',
  async (t) => {
    // The views were tampered with above: a rebuild from the log repairs them.
    t.not((await viewChecksums(pool, schema)).messages, liveChecksums.messages, 'tampered before the rebuild')
    const r = await cli('rebuild', '--json')
    t.equal(r.code, 0, r.err)
    const out = JSON.parse(r.out)
    t.match(out, { schema, view: 'all' })
    t.ok(out.events >= 8)
    t.same(
      await viewChecksums(pool, schema),
      liveChecksums,
      'the rebuild ends with the live projection’s rows',
    )
    t.same(
      (await pool.query(`SELECT text FROM "${schema}".messages WHERE conversation_id = $1`, [RETRY])).rows,
      [{ text: 'once' }],
      'a message retried after the duplicate window is still shown once, the first',
    )
    t.equal((await cli('verify')).code, 0, 'the rebuilt views agree with the log')
    // The live projector writes into the switched schema.
    const more = await append(js, n, sent(GROUP, U.ann, 3, 'after the switch'))
    await settled(GROUP, more)
    t.equal(
      (
        await pool.query(`SELECT text FROM "${schema}".messages WHERE seq = $1 AND conversation_id = $2`, [
          more,
          GROUP,
        ])
      ).rows[0]?.text,
      'after the switch',
    )
    // One view only: its rows are replaced, the other views are left alone.
    await pool.query(
      `UPDATE "${schema}".messages SET text = 'again' WHERE seq = $1 AND conversation_id = $2`,
      [more, GROUP],
    )
    const rebuiltAgain = await cli('rebuild', '--view', 'messages')
    t.equal(rebuiltAgain.code, 0, rebuiltAgain.err)
    t.match(rebuiltAgain.out, /rebuilt messages/)
    t.equal((await cli('verify')).code, 0, 'the one rebuilt view is repaired too')
    const schemas = await pool.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`, [`${schema}%`])
    t.same(
      schemas.rows.map((r) => r.nspname),
      [schema],
      'no scratch or old schema is left behind',
    )
  },
)

t.test('lag shows pending events and the age of the oldest while the projector is stopped', async (t) => {
  await projector.stop()
  const at = Date.now()
  await append(js, n, sent(GROUP, U.bob, 4, 'while stopped'))
  await new Promise((r) => setTimeout(r, 50)) // so the oldest pending event has a measurable age
  const rows = JSON.parse((await cli('lag', '--json')).out)
  const row = rows.find((r: { stream: string }) => r.stream === n.convStream(n.shardOf(GROUP)))
  t.match(row, { pending: 1 })
  t.ok(
    row.oldestAgeSeconds > 0 && row.oldestAgeSeconds < (Date.now() - at) / 1000 + 1,
    `age ${row.oldestAgeSeconds}`,
  )
})
