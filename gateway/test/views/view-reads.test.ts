import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type ChatEvent, encodeJson, HEADERS, laneOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { jetstream } from '@nats-io/jetstream'
import { headers } from '@nats-io/nats-core'
import pg from 'pg'
import t from 'tap'
import type { MembershipPort } from '../../src/ports.js'
import type { RequestContext } from '../../src/transport/http/route.js'
import { pgViewReads } from '../../src/views/view-reads.js'
import { viewRoutes } from '../../src/views/view-routes.js'

/**
 * The read side against views built by the real projector process (spawned from its build, as
 * in production: services never import each other), fed by events appended to real JetStream.
 */
const tn = await createTestNamespace({ shards: 2 })
t.teardown(tn.cleanup)
const n = tn.names
const schema = n.dbSchemas.views
const js = jetstream(tn.nc)
const pool = new pg.Pool({ connectionString: tn.stack.databaseUrl, max: 2 })
t.teardown(() => pool.end())

const projectorMain = fileURLToPath(new URL('../../../projector/dist/main.js', import.meta.url))
const projector: ChildProcess = spawn(process.execPath, [projectorMain], {
  env: { ...process.env, ...tn.env, PROJECTOR_OPS_PORT: '0', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
})
t.teardown(() => {
  projector.kill('SIGTERM')
})

let counter = 0
const at0 = 1_700_000_000_000
const append = async (type: ChatEvent['type'], conversationId: string, actor: string, data: unknown) => {
  const e = { v: 1, type, id: `e${++counter}`, conversationId, actor, at: at0 + counter, data }
  const h = headers()
  h.set(HEADERS.eventType, type)
  const ack = await js.publish(n.convSubject(conversationId, laneOf(type)), encodeJson(e), {
    msgID: e.id,
    headers: h,
  })
  return ack.seq
}
const projected = async (conversationId: string, seq: number) => {
  const end = Date.now() + 20_000
  for (;;) {
    const r = await pool
      .query(`SELECT last_seq FROM "${schema}".projector_offsets WHERE shard = $1`, [
        n.shardOf(conversationId),
      ])
      .catch(() => ({ rows: [] as { last_seq: string }[] }))
    if (Number(r.rows[0]?.last_seq ?? 0) >= seq) return
    if (Date.now() > end) throw new Error(`projection did not reach ${seq}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const ann = 'u_ann0001'
const bob = 'u_bob0001'
const eve = 'u_eve0001'
const dan = 'u_dan0001'
const G = 'c_views001'
const D = 'd_views001'

await append('conversation.created', G, ann, {
  kind: 'group',
  title: 'Views',
  members: [
    { userId: ann, role: 'admin' },
    { userId: bob, role: 'member' },
  ],
})
const seqs: number[] = []
for (let i = 1; i <= 7; i++)
  seqs.push(
    await append('message.sent', G, i % 2 ? ann : bob, {
      clientMsgId: `cmid-${i}-xyz`,
      deviceId: 'd1',
      n: i,
      kind: 'text',
      text: `m${i}`,
    }),
  )
const photo = await append('message.sent', G, ann, {
  clientMsgId: 'cmid-photo-1',
  deviceId: 'd1',
  n: 8,
  kind: 'image',
  media: { mediaId: 'm_views001', kind: 'image', mime: 'image/png', size: 5 },
})
seqs.push(photo)
await append('media.ready', G, 'system', {
  mediaId: 'm_views001',
  variants: [{ name: 'thumb', mime: 'image/webp', size: 2 }],
})
await append('receipt.delivered', G, bob, { upTo: seqs[6] })
const lastG = await append('receipt.read', G, bob, { upTo: seqs[2] })
await append('conversation.created', D, ann, {
  kind: 'direct',
  title: null,
  members: [
    { userId: ann, role: 'admin' },
    { userId: bob, role: 'admin' },
  ],
})
const lastD = await append('message.sent', D, bob, {
  clientMsgId: 'cmid-direct1',
  deviceId: 'd2',
  n: 1,
  kind: 'text',
  text: 'psst',
})
// A group dan joins late.
const G2 = 'c_views002'
await append('conversation.created', G2, ann, {
  kind: 'group',
  title: 'Late',
  members: [{ userId: ann, role: 'admin' }],
})
const beforeDan = await append('message.sent', G2, ann, {
  clientMsgId: 'cmid-before-dan',
  deviceId: 'd1',
  n: 1,
  kind: 'text',
  text: 'secret',
})
const danAdded = await append('member.added', G2, ann, { userId: dan, role: 'member' })
const afterDan = await append('message.sent', G2, ann, {
  clientMsgId: 'cmid-after-dan',
  deviceId: 'd1',
  n: 2,
  kind: 'text',
  text: 'welcome dan',
})
await projected(G2, afterDan)
await projected(G, lastG)
await projected(D, lastD)

const reads = pgViewReads(pool, schema)

t.test('the inbox lists a user’s conversations with last message, unread count and watermarks', async (t) => {
  const inbox = await reads.inbox(bob)
  t.same(
    inbox.map((c) => c.conversationId),
    [D, G],
    'most recent activity first',
  )
  const g = inbox.find((c) => c.conversationId === G)!
  t.match(g, {
    kind: 'group',
    title: 'Views',
    role: 'member',
    memberCount: 2,
    deliveredUpTo: seqs[6],
    readUpTo: seqs[5],
  })
  // bob sent #6 (read up to it by sending), so #7 and #8 are unread
  t.equal(g.unread, 2)
  t.match(g.lastMessage, { seq: photo, n: 8, senderId: ann, kind: 'image' })
  const d = inbox.find((c) => c.conversationId === D)!
  t.match(d, { kind: 'direct', peerId: ann, unread: 0, lastMessage: { text: 'psst' } })
  const annD = (await reads.inbox(ann)).find((c) => c.conversationId === D)!
  t.equal(annD.unread, 1)
  t.equal(annD.peerId, bob)
  t.same(await reads.inbox(eve), [])
})

t.test('history pages: newest first page, before and after cursors, edges', async (t) => {
  const first = await reads.history(G, { limit: 3 })
  t.same(
    first.messages.map((m) => m.n),
    [6, 7, 8],
  )
  t.equal(first.hasMore, true)
  t.match(first.messages[2], {
    media: { mediaId: 'm_views001', state: 'ready', variants: [{ name: 'thumb' }] },
  })
  const older = await reads.history(G, { before: first.messages[0]!.seq, limit: 3 })
  t.same(
    older.messages.map((m) => m.n),
    [3, 4, 5],
  )
  t.equal(older.hasMore, true)
  const oldest = await reads.history(G, { before: older.messages[0]!.seq, limit: 3 })
  t.same(
    oldest.messages.map((m) => m.n),
    [1, 2],
  )
  t.equal(oldest.hasMore, false, 'nothing older than the first message')
  const exact = await reads.history(G, { before: seqs[2], limit: 2 })
  t.same(
    exact.messages.map((m) => m.n),
    [1, 2],
  )
  t.equal(exact.hasMore, false, 'a page that exactly reaches the start has no more')
  const newer = await reads.history(G, { after: seqs[4], limit: 2 })
  t.same(
    newer.messages.map((m) => m.n),
    [6, 7],
  )
  t.equal(newer.hasMore, true)
  const tail = await reads.history(G, { after: seqs[6] })
  t.same(
    tail.messages.map((m) => m.n),
    [8],
  )
  t.equal(tail.hasMore, false)
  t.same(await reads.history(G, { after: photo }), { messages: [], hasMore: false })
  const between = await reads.history(G, { after: seqs[0], before: seqs[3] })
  t.same(
    between.messages.map((m) => m.n),
    [2, 3],
  )
  t.same(await reads.history('c_unknown01', {}), { messages: [], hasMore: false })
})

t.test('status tells per member whether a message was delivered and read', async (t) => {
  t.same(await reads.status(G, seqs[4]!), [
    { userId: ann, delivered: true, read: true },
    { userId: bob, delivered: true, read: true },
  ])
  t.same(await reads.status(G, photo), [
    { userId: ann, delivered: true, read: true },
    { userId: bob, delivered: false, read: false },
  ])
  t.same(await reads.status(G, seqs[6]!), [
    { userId: ann, delivered: true, read: true },
    { userId: bob, delivered: true, read: false },
  ])
})

t.test('a client message id finds its stored message; an unknown one finds nothing', async (t) => {
  t.same(await reads.find(G, ann, 'cmid-photo-1'), { seq: photo, n: 8, at: at0 + 9 })
  t.equal(await reads.find(G, bob, 'cmid-photo-1'), undefined)
})

const membership: Pick<MembershipPort, 'isMember'> = {
  isMember: async (conversationId, userId) =>
    ([ann, bob].includes(userId) && [G, D].includes(conversationId)) ||
    (userId === dan && conversationId === G2),
}
const routes = viewRoutes({ reads, membership })
const route = (path: string) => routes.find((r) => r.path === path)!
const call = (
  path: string,
  userId: string,
  params: Record<string, string>,
  query: Record<string, unknown> = {},
) =>
  route(path).handle({
    method: 'GET',
    url: path,
    params,
    query,
    headers: {},
    ip: '127.0.0.1',
    signal: new AbortController().signal,
    principal: { userId, deviceId: 'd', sessionId: 's', expiresAt: Date.now() + 60_000 },
    body: undefined,
    stream: undefined,
    log: undefined as never,
  } as unknown as RequestContext)

t.test('a member added later reads history from the event that added them on', async (t) => {
  const page = await call('/v1/conversations/:conversationId/messages', dan, { conversationId: G2 })
  t.match(page, { kind: 'json', body: { hasMore: false } })
  t.same(
    (page as { body: { messages: { seq: number }[] } }).body.messages.map((m) => m.seq),
    [afterDan],
  )
  t.equal(await reads.joinedAt(G2, dan), danAdded)
  t.equal(await reads.joinedAt(G2, eve), undefined)
  // Known to the log but not yet to the views (projection lag): nothing, never everything.
  const lagging = viewRoutes({ reads, membership: { isMember: async () => true } })
  const early = await lagging
    .find((r) => r.path === '/v1/conversations/:conversationId/messages')!
    .handle({
      params: { conversationId: G2 },
      query: {},
      principal: { userId: eve },
    } as unknown as RequestContext)
  t.match(early, { kind: 'json', body: { messages: [], hasMore: false } })
})

t.test('a member added later cannot read the status of messages sent before they joined', async (t) => {
  const status = '/v1/conversations/:conversationId/messages/:seq/status'
  t.match(await call(status, dan, { conversationId: G2, seq: String(beforeDan) }), {
    kind: 'error',
    code: 'NOT_FOUND',
  })
  t.match(await call(status, dan, { conversationId: G2, seq: String(danAdded - 1) }), {
    kind: 'error',
    code: 'NOT_FOUND',
  })
  t.match(await call(status, dan, { conversationId: G2, seq: String(afterDan) }), {
    kind: 'json',
    body: { conversationId: G2, seq: afterDan, members: [{ userId: ann }, { userId: dan }] },
  })
  // Known to the log but not yet to the views (projection lag): nothing, as history shows nothing.
  const lagging = viewRoutes({ reads, membership: { isMember: async () => true } })
  const early = await lagging
    .find((r) => r.path === status)!
    .handle({
      params: { conversationId: G2, seq: String(beforeDan) },
      query: {},
      principal: { userId: eve },
    } as unknown as RequestContext)
  t.match(early, { kind: 'json', body: { conversationId: G2, seq: beforeDan } })
  t.same((early as { body: { members: unknown[] } }).body.members, [], 'no member listed')
})

t.test('routes serve members and refuse everyone else with NOT_A_MEMBER', async (t) => {
  const inbox = await call('/v1/conversations', bob, {})
  t.match(inbox, { kind: 'json', status: 200, body: { conversations: [{}, {}] } })
  const page = await call(
    '/v1/conversations/:conversationId/messages',
    bob,
    { conversationId: G },
    { limit: 2 },
  )
  t.match(page, { kind: 'json', body: { conversationId: G, hasMore: true, messages: [{ n: 7 }, { n: 8 }] } })
  t.same(await call('/v1/conversations/:conversationId/messages', eve, { conversationId: G }), {
    kind: 'error',
    code: 'NOT_A_MEMBER',
  })
  t.same(await call('/v1/conversations/:conversationId/messages', bob, { conversationId: '../etc' }), {
    kind: 'error',
    code: 'NOT_A_MEMBER',
  })
  const status = '/v1/conversations/:conversationId/messages/:seq/status'
  t.match(await call(status, ann, { conversationId: G, seq: String(photo) }), {
    kind: 'json',
    body: { seq: photo, members: [{ userId: ann }, { userId: bob, read: false }] },
  })
  t.same(await call(status, eve, { conversationId: G, seq: String(photo) }), {
    kind: 'error',
    code: 'NOT_A_MEMBER',
  })
  t.match(await call(status, ann, { conversationId: G, seq: 'x1' }), {
    kind: 'error',
    code: 'INVALID_REQUEST',
  })
  t.match(await call(status, ann, { conversationId: G, seq: '0' }), {
    kind: 'error',
    code: 'INVALID_REQUEST',
  })
})

t.test('history and status are served by index scans', async (t) => {
  // Enough rows that the planner prefers an index for its own reasons, then EXPLAIN the exact SQL.
  const s = `"${schema}"`
  await pool.query(
    `INSERT INTO ${s}.messages (conversation_id, seq, n, sender_id, device_id, client_msg_id, kind, text, at)
     SELECT 'c_bulk' || (i % 200), i + 1000, i, 'u_bulk0001', 'd', 'cmid-bulk-' || i, 'text', 'x', 0
     FROM generate_series(1, 40000) AS i`,
  )
  await pool.query(
    `INSERT INTO ${s}.members (conversation_id, user_id, role, active, joined_seq, join_ord)
     SELECT 'c_bulk' || (i % 200), 'u_bulk' || i, 'member', true, 1, 0 FROM generate_series(1, 20000) AS i`,
  )
  await pool.query(`ANALYZE ${s}.messages`)
  await pool.query(`ANALYZE ${s}.members`)
  const plans: string[] = []
  const explaining = {
    query: async (sql: string, params: unknown[]) => {
      const r = await pool.query(`EXPLAIN ${sql}`, params)
      plans.push(r.rows.map((x) => x['QUERY PLAN']).join('\n'))
      return { rows: [] }
    },
  } as unknown as pg.Pool
  const explained = pgViewReads(explaining, schema)
  await explained.history('c_bulk7', { before: 30_000, limit: 50 })
  await explained.history('c_bulk7', { after: 2000, limit: 50 })
  await explained.status('c_bulk7', 20_000)
  await explained.find('c_bulk7', 'u_bulk0001', 'cmid-bulk-7')
  await explained.inbox('u_bulk7')
  for (const p of plans) {
    t.match(p, /Index (Only )?Scan/, p)
    t.notMatch(p, /Seq Scan on (messages|members)/, p)
  }
})
