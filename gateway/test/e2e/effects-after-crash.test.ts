import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ServerFrame, ServerFrameOf } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import pg from 'pg'
import t from 'tap'
import { createTokenService, generatePrivateKeyPem } from '../../src/accounts/token-service.js'
import { startGatewayProcess } from '../support/gateway-process.js'
import { eventually, startProjectorProcess, storedByMsgId } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

/**
 * Issue 11's crash window on the gateway side: a gateway killed with SIGKILL after its append was
 * stored and before it answered. Nothing followed the append on the request path any more (ADR
 * 0150): the membership notices come from the log, through the projector's reactors, exactly once
 * (counted by Msg-Id = effect id), and the added member's device sees the group live. A command
 * resent afterwards (the same clientGroupId, the same group.add, the same clientMsgId after the
 * duplicate window) publishes nothing twice.
 */
t.setTimeout(120_000)
// A short duplicate window, so that a resend can come after it within the test.
const tn = await createTestNamespace({ shards: 1, settings: { duplicateWindowMs: 1500 } })
t.teardown(tn.cleanup)
const n = tn.names
const js = jetstream(tn.nc)
const jsm = await jetstreamManager(tn.nc)
const pem = generatePrivateKeyPem()
const tokens = await createTokenService({ privateKeyPem: pem, ttlS: 600 })
const projector = await startProjectorProcess(tn)
t.teardown(projector.kill)
// The surviving gateway, as deployed (accounts, media, the durable record of sends).
const gw = await startGatewayProcess(tn, {}, { privateKeyPem: pem })
t.teardown(() => gw.stop())
const views = new pg.Pool({ connectionString: tn.stack.databaseUrl, max: 1 })
t.teardown(() => views.end())

const register = async (username: string): Promise<string> => {
  const r = await fetch(`${gw.base}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'correct horse battery staple 42', displayName: username }),
  })
  if (r.status !== 201) throw new Error(`${username} not registered: ${r.status}`)
  return ((await r.json()) as { userId: string }).userId
}
const suffix = tn.ns.slice(-6)
const [A, B, C, D] = [
  await register(`ann${suffix}`),
  await register(`bob${suffix}`),
  await register(`cat${suffix}`),
  await register(`dan${suffix}`),
] as [string, string, string, string]
const token = async (userId: string) => (await tokens.issue(userId, 'dev1', `s_${userId}`)).accessToken

const connect = async (port: number, userId: string) => {
  const c = await TestClient.open(`ws://127.0.0.1:${port}/v1/ws`, { token: await token(userId) })
  t.teardown(() => c.close())
  await c.waitFor(isType('hello'))
  c.send({ type: 'sync', rid: 's' })
  await c.waitFor(isType('synced'))
  return c
}

/** A gateway that appends and dies before answering; resolves with the append's subject and seq. */
const dyingGateway = async () => {
  const proc = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('../support/append-then-die-child.mjs', import.meta.url)),
      JSON.stringify({ natsUrl: tn.stack.natsUrl, ns: tn.ns, shards: n.shards, pem }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  t.teardown(() => proc.kill('SIGKILL'))
  const lines = createInterface({ input: proc.stdout! })
  const next = (prefix: string) =>
    new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the child never printed ${prefix}`)), 30_000)
      const onLine = (line: string) => {
        if (!line.startsWith(`${prefix} `)) return
        clearTimeout(timer)
        lines.off('line', onLine)
        resolve(line.split(' ').slice(1))
      }
      lines.on('line', onLine)
    })
  const [port] = await next('listening')
  return {
    port: Number(port),
    appended: async () => {
      const [subject, seq] = await next('appended')
      return { subject: subject!, seq: Number(seq) }
    },
    kill: async () => {
      const exited = once(proc, 'exit')
      proc.kill('SIGKILL')
      await exited
    },
  }
}

const userEffects = () => storedByMsgId(jsm, n.userStream, `${n.ns}.user.>`)
const isEventOf =
  (conversationId: string, type: string) =>
  (f: ServerFrame): f is ServerFrameOf<'event'> =>
    f.type === 'event' && f.conversationId === conversationId && f.event.type === type
const answered = (f: ServerFrame): { seq: number | undefined } =>
  f.type === 'sent' || f.type === 'ok' || f.type === 'event' ? { seq: f.seq } : { seq: undefined }

t.test(
  'a gateway killed between append and answer: the notices still arrive, once; resends publish nothing twice',
  async (t) => {
    const b = await connect(gw.port, B)
    const c = await connect(gw.port, C)

    // group.create on a gateway that dies after the append.
    const h1 = await dyingGateway()
    const a1 = await connect(h1.port, A)
    a1.send({
      type: 'group.create',
      rid: 'lost',
      title: 'after the crash',
      memberIds: [B],
      clientGroupId: 'crash-group-1',
    })
    const created = await h1.appended()
    await h1.kill()
    const grp = created.subject.split('.')[3]!
    t.equal(a1.frames.filter((f) => 'rid' in f && f.rid === 'lost').length, 0, 'never answered')
    const seen = await b.waitFor(isEventOf(grp, 'conversation.created'), 10_000)
    t.equal(seen.seq, created.seq, 'the added member’s device sees the group live')

    // The same create resent with its clientGroupId, on the surviving gateway: the same group.
    const a = await connect(gw.port, A)
    const again = (await a.request({
      type: 'group.create',
      title: 'after the crash',
      memberIds: [B],
      clientGroupId: 'crash-group-1',
    })) as ServerFrameOf<'ok'>
    t.match(again, { type: 'ok', conversationId: grp })
    t.equal(again.seq, undefined, 'nothing appended')

    // group.add on a gateway that dies after the append.
    const h2 = await dyingGateway()
    const a2 = await connect(h2.port, A)
    a2.send({ type: 'group.add', rid: 'lost', conversationId: grp, userId: C })
    const added = await h2.appended()
    await h2.kill()
    t.equal((await c.waitFor(isEventOf(grp, 'member.added'), 10_000)).seq, added.seq, 'C sees it live')
    t.match(await a.request({ type: 'group.add', conversationId: grp, userId: C }), { type: 'ok' }, 'resent')

    // A photo sent, then resent after JetStream's duplicate window: the durable record answers.
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
      'base64',
    )
    const up = await fetch(`${gw.base}/v1/media`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(A)}` },
      body: png,
    })
    t.equal(up.status, 201)
    const { mediaId } = (await up.json()) as { mediaId: string }
    const send = { type: 'send', conversationId: grp, clientMsgId: 'cm_crashphoto1', kind: 'image', mediaId }
    const first = answered(await a.request(send))
    t.ok(first.seq, 'sent')
    const jobId = `${mediaId}:${grp}`
    await eventually(
      async () => (await storedByMsgId(jsm, n.mediaJobStream, n.mediaJobsAll)).has(jobId),
      10_000,
      'its job',
    )
    // The window has passed once a probe with a Msg-Id it saw before is stored again.
    await js.publish(`${n.ns}.dlq.probe`, new Uint8Array(), { msgID: 'probe' })
    await eventually(
      async () => !(await js.publish(`${n.ns}.dlq.probe`, new Uint8Array(), { msgID: 'probe' })).duplicate,
      10_000,
      'the duplicate window to pass',
    )
    const resent = await a.request({ ...send, retry: true })
    t.match(
      resent,
      { type: 'sent', seq: first.seq, duplicate: true },
      'the original, from the durable record',
    )

    // Something after all of it, with an effect of its own: once it is published and the outbox is
    // empty, anything the resends had caused would have been published too.
    const last = answered(await a.request({ type: 'group.add', conversationId: grp, userId: D }))
    await eventually(async () => (await userEffects()).has(`${grp}:${last.seq}:${D}`), 10_000, 'D’s notice')
    await eventually(
      async () =>
        (await views.query(`SELECT count(*)::int AS c FROM "${n.dbSchemas.views}".effect_outbox`)).rows[0]
          .c === 0,
      10_000,
      'an empty outbox',
    )

    const notices = await userEffects()
    const ofGroup = [...notices].filter(([id]) => id.startsWith(`${grp}:`))
    t.same(
      ofGroup.map(([id]) => id).sort(),
      [
        `${grp}:${created.seq}:${A}`,
        `${grp}:${created.seq}:${B}`,
        `${grp}:${added.seq}:${C}`,
        `${grp}:${last.seq}:${D}`,
      ].sort(),
      'the notices of the group: those of its three changes, no other',
    )
    t.ok(
      ofGroup.every(([, count]) => count === 1),
      'each stored once',
    )
    const jobs = await storedByMsgId(jsm, n.mediaJobStream, n.mediaJobsAll)
    t.same(
      [...jobs].filter(([id]) => id.startsWith(mediaId)),
      [[jobId, 1]],
      'one media job',
    )
    const messages = await views.query(
      `SELECT seq FROM "${n.dbSchemas.views}".messages WHERE conversation_id = $1 AND client_msg_id = $2`,
      [grp, 'cm_crashphoto1'],
    )
    t.same(
      messages.rows.map((r) => Number(r.seq)),
      [first.seq],
      'the photo is stored once',
    )
  },
)
