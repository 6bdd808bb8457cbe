import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { isChatClientError, PushApi } from '@chatapp/client'
import { pushNotificationDecoder, webhookBodyDecoder } from '@chatapp/contracts'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import pg from 'pg'
import t from 'tap'
import { eventually } from '../support/projector.js'
import { startPushStack } from '../support/push-stack.js'
import { isType, type TestClient } from '../support/ws-client.js'

/**
 * Issue 13 end to end, with every part as deployed: messages sent over the WebSocket, the
 * projector's reactor writing push jobs, the push worker sending through a local Web Push service
 * that decrypts with the subscription's private key and checks VAPID, and a local relay that
 * checks the webhook signature.
 */
t.setTimeout(120_000)
const s = await startPushStack(t)
const db = new pg.Pool({ connectionString: s.tn.stack.databaseUrl, max: 1 })
t.teardown(() => db.end())
const schema = s.tn.names.dbSchemas.gateway

// alice sends from her desk; her laptop is offline with a target (the sender is never pushed).
const alice = await s.device('alice', 'desk')
const aliceLaptop = await s.device('alice', 'laptop')
const alicePush = await s.subscribe(aliceLaptop)
const bob = await s.device('bob', 'phone')
const bobPush = await s.subscribe(bob)
// carol's phone has a live socket: no push for it.
const carol = await s.device('carol', 'phone')
const carolPush = await s.subscribe(carol)
const dave = await s.device('dave', 'phone')
const davePush = await s.subscribe(dave)
const erin = await s.device('erin', 'android')
await s.hook(erin, 'erin')
const frank = await s.device('frank', 'phone')
const frankPush = await s.subscribe(frank)
const gina = await s.device('gina', 'phone')
const ginaPush = await s.subscribe(gina)

const desk = await alice.connect()
const carolWs = await carol.connect()
await s.online(carol)

const request = async (c: TestClient, frame: Record<string, unknown>) => {
  const f = await c.request(frame)
  if (f.type === 'error') throw new Error(`${frame.type} refused: ${f.code}`)
  return f as unknown as { conversationId: string; seq: number }
}
let msgs = 0
const send = async (conversationId: string, text: string, mentions?: string[]) => {
  const f = await request(desk, {
    type: 'send',
    conversationId,
    clientMsgId: `cm_push_${++msgs}`,
    kind: 'text',
    text,
    ...(mentions ? { mentions } : {}),
  })
  return f.seq
}
let weekend = ''

t.test('a burst in a group: each offline member’s device gets one notification with the count', async (t) => {
  const created = await request(desk, {
    type: 'group.create',
    title: 'Weekend',
    memberIds: [bob.userId, carol.userId, dave.userId, erin.userId, frank.userId, gina.userId],
  })
  const G = created.conversationId
  weekend = G
  t.equal((await dave.http('PUT', `/v1/conversations/${G}/mute`, { until: null })).status, 200)
  s.push.behave(frankPush.sub.id, { gone: true })
  s.push.behave(ginaPush.sub.id, { failTimes: 2 })

  await send(G, 'first')
  await send(G, 'second')
  const last = await send(G, 'third  message\nwith a newline')

  await eventually(async () => s.push.of(bobPush.sub.id).length > 0, 15_000, 'bob’s notification')
  await eventually(
    async () => s.hooks.of('erin').length > 0 && s.push.of(ginaPush.sub.id).length > 0,
    15_000,
    'erin and gina',
  )
  await s.settled('the burst')
  const n = s.push.of(bobPush.sub.id)[0]

  const payload = pushNotificationDecoder.decode(new TextEncoder().encode(JSON.stringify(n!.payload)))
  t.ok(payload.ok, 'the decrypted payload is a PushNotification')
  t.match(n!.payload, {
    type: 'message',
    conversationId: G,
    seq: last,
    count: 3,
    content: 'full',
    conversationKind: 'group',
    title: 'Weekend',
    sender: { userId: alice.userId, displayName: 'Alice' },
    kind: 'text',
    preview: 'third message with a newline',
  })
  t.equal(n!.urgency, 'normal', 'a group message is normal urgency')
  t.equal(n!.ttl, '86400')
  t.match(n!.topic, /^[A-Za-z0-9_-]{32}$/, 'a Topic collapses the conversation’s notifications')
  t.equal(s.push.of(bobPush.sub.id).length, 1, 'bob: exactly one for the burst')

  const hook = s.hooks.of('erin')
  t.equal(hook.length, 1, 'erin’s relay: exactly one, signed (the relay refused none)')
  t.same(s.hooks.forged, [])
  const body = webhookBodyDecoder.decode(new TextEncoder().encode(JSON.stringify(hook[0]!.body)))
  t.ok(body.ok, 'the webhook body is a WebhookBody')
  t.match(hook[0]!.body, { conversationId: G, count: 3, seq: last, sender: { displayName: 'Alice' } })
  t.equal(hook[0]!.pushId, hook[0]!.body.id, 'the push id header repeats the notification id')

  t.equal(s.push.of(ginaPush.sub.id).length, 1, 'gina: two 503s retried, then one accepted')
  t.same(s.push.of(carolPush.sub.id), [], 'carol is online: none')
  t.same(s.push.of(davePush.sub.id), [], 'dave muted the group: none')
  t.same(s.push.of(alicePush.sub.id), [], 'the sender’s other device: none')
  t.same(s.push.refused, [], 'the push service could decrypt and verify every request')

  t.same((await frank.http('GET', '/v1/push/targets')).body, { targets: [] }, '410 removed frank’s target')
  const dead = await db.query(`SELECT dead_reason FROM "${schema}".push_targets WHERE id = $1`, [
    frankPush.target.id,
  ])
  t.match(dead.rows[0]?.dead_reason, /410/, 'kept for operators as dead, with the reason')
  t.equal(s.push.of(frankPush.sub.id).length, 0)

  // carol's phone saw the messages live; dave's other devices learn of his mute.
  await carolWs.waitFor((f) => f.type === 'event' && f.seq === last)
})

t.test(
  'a 1:1 message to an offline member: one notification, high urgency; a later burst replaces it',
  async (t) => {
    const opened = await request(desk, { type: 'direct.open', peerId: bob.userId })
    const D = opened.conversationId
    const before = s.push.of(bobPush.sub.id).length
    const first = await send(D, 'are you there?')
    await eventually(
      async () => s.push.of(bobPush.sub.id).length === before + 1,
      15_000,
      'the 1:1 notification',
    )
    await s.settled('the first 1:1 burst')
    const n = s.push.of(bobPush.sub.id)[before]!
    t.match(n.payload, {
      conversationId: D,
      conversationKind: 'direct',
      seq: first,
      count: 1,
      preview: 'are you there?',
    })
    t.equal(n.urgency, 'high')

    const second = await send(D, 'hello?')
    await eventually(async () => s.push.of(bobPush.sub.id).length === before + 2, 15_000, 'the second burst')
    await s.settled('the second 1:1 burst')
    const mailbox = s.push.mailbox(bobPush.sub.id).filter((p) => p.conversationId === D)
    t.match(mailbox, [{ seq: second, count: 1 }], 'same Topic: the browser shows the newest only')
  },
)

t.test('with pushContent none the notification says only that there is something new', async (t) => {
  const r = await bob.http('PUT', '/v1/users/me/settings', { groupAdds: 'everyone', pushContent: 'none' })
  t.match(r, { status: 200, body: { pushContent: 'none' } })
  const D = (await request(desk, { type: 'direct.open', peerId: bob.userId })).conversationId
  const before = s.push.of(bobPush.sub.id).length
  const seq = await send(D, 'a secret')
  await eventually(async () => s.push.of(bobPush.sub.id).length === before + 1, 15_000, 'the notification')
  const p = s.push.of(bobPush.sub.id)[before]!.payload
  t.same(Object.keys(p).sort(), ['at', 'content', 'conversationId', 'count', 'id', 'seq', 'type', 'v'])
  t.match(p, { content: 'none', conversationId: D, seq })
  await bob.http('PUT', '/v1/users/me/settings', { groupAdds: 'everyone', pushContent: 'full' })
})

t.test(
  'a reaction to a message reaches its offline author’s device, saying who reacted with what',
  async (t) => {
    const seq = await send(weekend, 'react to this')
    await s.settled('the message’s burst')
    const before = s.push.of(alicePush.sub.id).length
    const r = await carolWs.request({
      type: 'message.react',
      conversationId: weekend,
      seq,
      emoji: '🎉',
    })
    t.equal(r.type, 'ok', 'carol reacted')
    await eventually(
      async () => s.push.of(alicePush.sub.id).length === before + 1,
      15_000,
      'alice’s laptop told of the reaction',
    )
    await s.settled('the reaction’s burst')
    const n = s.push.of(alicePush.sub.id)[before]!
    t.match(n.payload, {
      type: 'reaction',
      conversationId: weekend,
      count: 1,
      content: 'full',
      sender: { userId: carol.userId, displayName: 'Carol' },
      reaction: { emoji: '🎉', messageSeq: seq },
    })
    t.ok(pushNotificationDecoder.decode(new TextEncoder().encode(JSON.stringify(n.payload))).ok)
    t.ok(Number(n.payload.seq) > seq, 'it stands for the reaction event')
    // Removing it tells nobody; the author reacting to their own message tells nobody either.
    t.equal(
      (await carolWs.request({ type: 'message.react', conversationId: weekend, seq, emoji: null })).type,
      'ok',
    )
    t.equal(
      (await desk.request({ type: 'message.react', conversationId: weekend, seq, emoji: '👍' })).type,
      'ok',
    )
    const erinBefore = s.hooks.of('erin').length
    await send(weekend, 'after the reactions')
    await eventually(async () => s.hooks.of('erin').length > erinBefore, 15_000, 'the next message’s burst')
    await s.settled('the bursts after the reactions')
    t.equal(s.push.of(alicePush.sub.id).length, before + 1, 'no other notification for alice')
  },
)

t.test(
  'a mention reaches a member who muted the group, unless they turned mentions-when-muted off',
  async (t) => {
    // dave muted the weekend group in the first test.
    t.match(await dave.http('GET', '/v1/users/me/settings'), {
      status: 200,
      body: { pushMentionsWhenMuted: true },
    })
    const before = s.push.of(davePush.sub.id).length
    const mentionDave = (text: string) => send(weekend, text, [dave.userId])
    const seq = await mentionDave('@dave are you coming?')
    await eventually(async () => s.push.of(davePush.sub.id).length === before + 1, 15_000, 'dave’s mention')
    await s.settled('the mention’s burst')
    t.match(s.push.of(davePush.sub.id)[before]!.payload, {
      type: 'message',
      mention: true,
      seq,
      count: 1,
      preview: '@dave are you coming?',
      sender: { userId: alice.userId },
    })
    t.equal(s.push.of(davePush.sub.id)[before]!.urgency, 'high')

    t.match(
      await dave.http('PUT', '/v1/users/me/settings', {
        groupAdds: 'everyone',
        pushMentionsWhenMuted: false,
      }),
      {
        status: 200,
        body: { pushMentionsWhenMuted: false, pushContent: 'full' },
      },
    )
    const erinBefore = s.hooks.of('erin').length
    await mentionDave('@dave last call')
    // erin's relay hears of the same burst: it was planned, and dave was left out.
    await eventually(async () => s.hooks.of('erin').length > erinBefore, 15_000, 'erin’s notification')
    await s.settled('the second mention’s burst')
    t.equal(
      s.push.of(davePush.sub.id).length,
      before + 1,
      'with the setting off the muted group stays silent',
    )
    t.match(s.hooks.of('erin').at(-1)!.body, { mention: undefined, preview: '@dave last call' })
    await dave.http('PUT', '/v1/users/me/settings', { groupAdds: 'everyone', pushMentionsWhenMuted: true })
  },
)

t.test(
  'a queued v1 job is still read; a job of a version the worker does not know is dead-lettered',
  async (t) => {
    const js = jetstream(s.tn.nc)
    // A conversation of its own: the job's made-up sequence becomes erin's mark there.
    const D = (await request(desk, { type: 'direct.open', peerId: erin.userId })).conversationId
    const before = s.hooks.of('erin').length
    const v1 = {
      v: 1,
      conversationId: D,
      conversationKind: 'direct',
      title: null,
      seq: 1_000_000,
      senderId: alice.userId,
      kind: 'text',
      preview: 'from before the upgrade',
      recipients: [erin.userId],
      part: 0,
      at: Date.now(),
    }
    await js.publish(s.tn.names.pushJobSubject(D), JSON.stringify(v1), { msgID: 'legacy-v1-job' })
    await eventually(async () => s.hooks.of('erin').length > before, 15_000, 'the v1 job’s notification')
    t.match(s.hooks.of('erin').at(-1)!.body, {
      conversationId: D,
      seq: 1_000_000,
      count: 1,
      preview: 'from before the upgrade',
    })

    const jsm = await jetstreamManager(s.tn.nc)
    const lastLetter = async () => {
      const m = await jsm.streams
        .getMessage(s.tn.names.deadLetterStream, {
          last_by_subj: s.tn.names.deadLetterSubject('push-worker'),
        })
        .catch(() => null)
      return m ? (m.json() as { code: string; reason: string; seq: number }) : undefined
    }
    await js.publish(s.tn.names.pushJobSubject(weekend), JSON.stringify({ v: 3, batch: 'x', items: [] }))
    await eventually(async () => (await lastLetter()) !== undefined, 15_000, 'the v3 job’s dead letter')
    t.match(await lastLetter(), {
      code: 'PUSH_JOB_INVALID',
      reason: /unknown push job version 3: this worker reads 1, 2/,
    })
    await js.publish(s.tn.names.pushJobSubject(weekend), 'not json')
    await eventually(
      async () => /JSON/.test((await lastLetter())?.reason ?? ''),
      15_000,
      'the non-JSON job’s dead letter',
    )
    await s.settled('the refused jobs left the queue')
    // The worker is alive and goes on.
    const after = s.hooks.of('erin').length
    await send(weekend, 'still working')
    await eventually(async () => s.hooks.of('erin').length > after, 15_000, 'a later notification')
  },
)

t.test(
  'muting is told to the user’s other devices, listed, ended by its time, and checked for membership',
  async (t) => {
    const daveWs = await dave.connect()
    const D = (await request(desk, { type: 'direct.open', peerId: dave.userId })).conversationId
    const until = Date.now() + 3_600_000
    t.match(await dave.http('PUT', `/v1/conversations/${D}/mute`, { until }), {
      status: 200,
      body: { conversationId: D, until },
    })
    await daveWs.waitFor((f) => f.type === 'mute' && f.conversationId === D && f.muted && f.until === until)
    const mutes = (await dave.http('GET', '/v1/users/me/mutes')).body.mutes as { conversationId: string }[]
    t.ok(mutes.some((m) => m.conversationId === D))
    t.equal((await dave.http('DELETE', `/v1/conversations/${D}/mute`)).status, 204)
    await daveWs.waitFor(isType('mute'), 5000, daveWs.frames.findIndex((f) => f.type === 'mute') + 1)
    // A mute that ended is not in force.
    await dave.http('PUT', `/v1/conversations/${D}/mute`, { until: Date.now() - 1 })
    t.notOk(
      ((await dave.http('GET', '/v1/users/me/mutes')).body.mutes as { conversationId: string }[]).some(
        (m) => m.conversationId === D,
      ),
    )
    t.match(await erin.http('PUT', `/v1/conversations/${D}/mute`, { until: null }), {
      status: 404,
      body: { error: { code: 'NOT_A_MEMBER' } },
    })
  },
)

t.test('a stored target no request can be made for fails alone: the burst’s others are told', async (t) => {
  // As a row written before keys were checked at the door would be.
  await db.query(
    `INSERT INTO "${schema}".push_targets (id, user_id, session_id, device_id, kind, endpoint, p256dh, auth, created_at)
     VALUES ('pt_broken0001', $1, 's_old', 'old', 'webpush', $2, $3, $4, 0)`,
    [
      erin.userId,
      `${s.push.origin}/push/broken`,
      Buffer.alloc(65, 7).toString('base64url'),
      'AAAAAAAAAAAAAAAAAAAAAA',
    ],
  )
  const before = s.hooks.of('erin').length
  await send(weekend, 'still told')
  await eventually(async () => s.hooks.of('erin').length > before, 15_000, 'erin’s relay')
  await s.settled('the burst with a broken target')
  const r = await db.query(`SELECT failures FROM "${schema}".push_targets WHERE id = 'pt_broken0001'`)
  t.equal(r.rows[0]?.failures, 1, 'counted as the broken target’s failure')
})

t.test(
  'targets: origins the operator did not allow are refused; others’ targets cannot be deleted; logout deletes them',
  async (t) => {
    t.match(
      await bob.http('POST', '/v1/push/targets', {
        kind: 'webpush',
        endpoint: 'https://evil.example/push/1',
        keys: bobPush.sub.keys,
      }),
      { status: 400, body: { error: { code: 'PUSH_TARGET_NOT_ALLOWED' } } },
    )
    t.match(
      await bob.http('POST', '/v1/push/targets', {
        kind: 'webpush',
        endpoint: `${s.push.origin}/push/notacurvepoint`,
        keys: { p256dh: Buffer.alloc(65, 7).toString('base64url'), auth: bobPush.sub.keys.auth },
      }),
      { status: 400, body: { error: { code: 'INVALID_REQUEST', details: ['/keys/p256dh'] } } },
      'a key that is no P-256 point is refused at the door',
    )
    t.match(
      await bob.http('POST', '/v1/push/targets', { kind: 'webhook', url: 'http://169.254.169.254/latest' }),
      {
        status: 400,
        body: { error: { code: 'PUSH_TARGET_NOT_ALLOWED' } },
      },
    )
    t.match(await erin.http('DELETE', `/v1/push/targets/${bobPush.target.id}`), {
      status: 404,
      body: { error: { code: 'PUSH_TARGET_NOT_FOUND' } },
    })
    const listed = (await bob.http('GET', '/v1/push/targets')).body.targets as {
      id: string
      secret?: string
    }[]
    t.same(
      listed.map((x) => x.id),
      [bobPush.target.id],
    )
    const erinList = (await erin.http('GET', '/v1/push/targets')).body.targets as { secret?: string }[]
    t.equal(erinList[0]?.secret, undefined, 'a webhook secret is shown at registration only')

    const logout = await fetch(`${s.gw.base}/v1/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: bob.refreshToken }),
    })
    t.equal(logout.status, 204)
    const rows = await db.query(`SELECT id FROM "${schema}".push_targets WHERE user_id = $1`, [bob.userId])
    t.same(rows.rows, [], 'the revoked session’s targets went with it')
    const before = s.push.of(bobPush.sub.id).length
    const erinBefore = s.hooks.of('erin').length
    await send(weekend, 'after logout')
    // erin's relay hears of it: the burst was handled; bob's device was not in it.
    await eventually(async () => s.hooks.of('erin').length > erinBefore, 15_000, 'erin’s notification')
    await s.settled('the burst after logout')
    t.equal(s.push.of(bobPush.sub.id).length, before, 'a logged-out device is not pushed')
  },
)

t.test('chatapp-ops lists a user’s targets and the dead ones, without keys or secrets', async (t) => {
  const ops = async (...args: string[]) => {
    const cli = new URL('../../../projector/dist/cli.js', import.meta.url).pathname
    const { stdout } = await promisify(execFile)(process.execPath, [cli, ...args, '--json'], {
      env: { ...process.env, ...s.tn.env },
    })
    return JSON.parse(stdout) as Record<string, unknown>[]
  }
  const erins = await ops('push-targets', erin.userId)
  t.match(erins, [{ userId: erin.userId, deviceId: 'android', kind: 'webhook', deadAt: null, failures: 0 }])
  t.notOk(JSON.stringify(erins).includes('secret'), 'no secret in the report')
  const dead = await ops('push-targets', '--dead')
  t.match(
    dead.find((r) => r.id === frankPush.target.id),
    { userId: frank.userId, deadReason: /410/ },
  )
  t.notOk(dead.some((r) => r.deadAt === null))
})

t.test('the client library registers, lists and deletes targets, and mutes', async (t) => {
  const api = new PushApi(s.gw.base)
  const gina2 = await s.device('gina', 'tablet')
  t.equal(
    await api.vapidPublicKey(gina2.token),
    (await gina2.http('GET', '/v1/push/vapid-public-key')).body.publicKey,
  )
  const sub = s.push.subscribe()
  const target = await api.registerWebPush(gina2.token, { endpoint: sub.endpoint, keys: sub.keys })
  t.match(target, { kind: 'webpush', deviceId: 'tablet', endpoint: sub.endpoint })
  t.ok((await api.targets(gina2.token)).some((x) => x.id === target.id))
  const hook = await api.registerWebhook(gina2.token, s.hooks.url('gina'), 'x'.repeat(40))
  t.equal(hook.secret, 'x'.repeat(40), 'a relay may choose the secret')
  await api.deleteTarget(gina2.token, target.id)
  t.notOk((await api.targets(gina2.token)).some((x) => x.id === target.id))
  const err = await api.deleteTarget(gina2.token, target.id).catch((e: unknown) => e)
  t.ok(isChatClientError(err) && err.code === 'PUSH_TARGET_NOT_FOUND')
  const D = (await request(desk, { type: 'direct.open', peerId: gina2.userId })).conversationId
  t.same(await api.mute(gina2.token, D), { conversationId: D, until: null })
  t.same(await api.mutes(gina2.token), [{ conversationId: D, until: null }])
  await api.unmute(gina2.token, D)
  t.same(await api.mutes(gina2.token), [])
})
