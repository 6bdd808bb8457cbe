import type { ServerFrame, ServerFrameOf, TokenPair } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { startGatewayProcess } from '../support/gateway-process.js'
import { startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

/**
 * Issue 10 item 6, end to end against the deployed gateway (accounts in PostgreSQL, the log in
 * JetStream): a user cannot flood group creation, and cannot put an unwilling user into groups.
 */
const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
// Users learn of new conversations from notices the projector's reactors publish (ADR 0150).
const projector = await startProjectorProcess(tn)
t.teardown(projector.kill)
const gw = await startGatewayProcess(tn, {
  GROUP_CREATE_PER_HOUR: '6',
  AUTH_RATE_PER_MINUTE: '10000',
  AUTH_RATE_BURST: '1000',
})
t.teardown(() => gw.stop())

type Json = Record<string, unknown>
const http = async (method: string, path: string, body?: unknown, token?: string) => {
  const r = await fetch(`${gw.base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await r.text()
  return { status: r.status, body: (text ? JSON.parse(text) : undefined) as Json }
}

interface User {
  id: string
  token: string
  ws: TestClient
}
const user = async (name: string): Promise<User> => {
  const password = `orchard-lantern-${name.length}-quietly`
  const reg = await http('POST', '/v1/auth/register', { username: name, password, displayName: name })
  if (reg.status !== 201) throw new Error(`register ${name}: ${JSON.stringify(reg.body)}`)
  const pair = (await http('POST', '/v1/auth/login', { username: name, password, deviceId: 'phone' }))
    .body as unknown as TokenPair
  const ws = await TestClient.open(`ws://127.0.0.1:${gw.port}/v1/ws`, { token: pair.accessToken })
  t.teardown(() => ws.close())
  await ws.waitFor(isType('hello'))
  ws.send({ type: 'sync', rid: 'sync' })
  await ws.waitFor(isType('synced'))
  return { id: pair.userId, token: pair.accessToken, ws }
}
const ok = (f: ServerFrame): ServerFrameOf<'ok'> => {
  if (f.type !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(f)}`)
  return f
}
/** The next `invitation` frame about `conversationId` after frame `from`. */
const invitationFrame = (u: User, conversationId: string, from: number) =>
  u.ws.waitFor(
    (f): f is ServerFrameOf<'invitation'> => f.type === 'invitation' && f.conversationId === conversationId,
    10_000,
    from,
  )
const refusal = (f: ServerFrame) => (f.type === 'error' ? f.code : `not refused: ${f.type}`)
const setGroupAdds = (u: User, groupAdds: string) =>
  http('PUT', '/v1/users/me/settings', { groupAdds }, u.token)

const [mallory, vera, fred, carl] = (await Promise.all(['mallory', 'vera', 'fred', 'carl'].map(user))) as [
  User,
  User,
  User,
  User,
]

t.test(
  'creating groups faster than GROUP_CREATE_PER_HOUR is refused with TOO_MANY_GROUPS and a retry hint',
  async (t) => {
    for (let i = 0; i < 6; i++)
      ok(
        await mallory.ws.request({
          type: 'group.create',
          title: `spam ${i}`,
          memberIds: [fred.id],
          clientGroupId: `cg_mallory_${i}`,
        }),
      )
    const f = await mallory.ws.request({ type: 'group.create', title: 'spam 6', memberIds: [fred.id] })
    t.equal(refusal(f), 'TOO_MANY_GROUPS')
    t.match(f, { retryable: true })
    // 6 an hour: the next one is about 10 minutes away.
    const wait = f.type === 'error' ? (f.retryAfterMs ?? 0) : 0
    t.ok(wait > 9 * 60_000 && wait <= 10 * 60_000, `retryAfterMs ${wait}`)
    ok(await fred.ws.request({ type: 'group.create', title: 'fred is not limited', memberIds: [] }))
  },
)

t.test('a user reads and changes who may add them to groups', async (t) => {
  t.same((await http('GET', '/v1/users/me/settings', undefined, carl.token)).body, {
    groupAdds: 'everyone',
    pushContent: 'full',
    pushMentionsWhenMuted: true,
  })
  const put = await setGroupAdds(carl, 'contacts')
  t.equal(put.status, 200)
  t.same(
    put.body,
    { groupAdds: 'contacts', pushContent: 'full', pushMentionsWhenMuted: true },
    'a PUT without the push settings leaves them',
  )
  t.same((await http('GET', '/v1/users/me/settings', undefined, carl.token)).body, {
    groupAdds: 'contacts',
    pushContent: 'full',
    pushMentionsWhenMuted: true,
  })
  const bad = await setGroupAdds(carl, 'friends of friends')
  t.equal(bad.status, 400)
  t.equal((await http('GET', '/v1/users/me/settings')).status, 401)
})

t.test(
  '"nobody": an add becomes an invitation, which the user lists, accepts or declines for good',
  async (t) => {
    t.equal((await setGroupAdds(vera, 'nobody')).status, 200)
    let from = vera.ws.frames.length
    const created = ok(
      await fred.ws.request({ type: 'group.create', title: 'book club', memberIds: [vera.id, carl.id] }),
    )
    const g = created.conversationId!
    t.same(created.invited, [vera.id, carl.id], 'both are invited instead of added')
    // Pushed live to her devices once the projector published the notice (ADR 0150).
    t.match(
      await invitationFrame(vera, g, from),
      {
        pending: true,
        invitation: {
          conversationId: g,
          title: 'book club',
          invitedBy: fred.id,
          seq: created.seq,
          memberCount: 1,
        },
      },
      'the invitation reaches her live',
    )
    t.equal(
      refusal(
        await vera.ws.request({
          type: 'send',
          conversationId: g,
          clientMsgId: 'cm_vera_0001',
          kind: 'text',
          text: 'hi',
        }),
      ),
      'NOT_A_MEMBER',
      'an invited user is not a member',
    )
    t.same(vera.ws.events(g), [], 'and receives nothing of the group')

    const list = await http('GET', '/v1/invitations', undefined, vera.token)
    t.equal(list.status, 200)
    t.match(list.body, {
      invitations: [{ conversationId: g, title: 'book club', invitedBy: fred.id, memberCount: 1 }],
    })

    from = vera.ws.frames.length
    const accepted = ok(await vera.ws.request({ type: 'group.invite.accept', conversationId: g }))
    t.ok(accepted.seq, 'accepting appends an event')
    t.same(
      await invitationFrame(vera, g, from),
      { type: 'invitation', conversationId: g, pending: false },
      'and its end too',
    )
    const joined = await vera.ws.waitFor(
      (f) => f.type === 'event' && f.conversationId === g && f.event.type === 'member.joined',
    )
    t.match(joined, { event: { actor: vera.id, data: { userId: vera.id } } })
    const sent = await vera.ws.request({
      type: 'send',
      conversationId: g,
      clientMsgId: 'cm_vera_0002',
      kind: 'text',
      text: 'glad to be here',
    })
    t.equal(sent.type, 'sent', 'a member now')
    t.same(ok(await vera.ws.request({ type: 'group.invite.accept', conversationId: g })).seq, undefined)
    t.same((await http('GET', '/v1/invitations', undefined, vera.token)).body, { invitations: [] })

    const second = ok(await fred.ws.request({ type: 'group.create', title: 'gym', memberIds: [] }))
    from = vera.ws.frames.length
    const added = ok(
      await fred.ws.request({ type: 'group.add', conversationId: second.conversationId, userId: vera.id }),
    )
    t.same(added.invited, [vera.id])
    t.match(await invitationFrame(vera, second.conversationId!, from), { pending: true })
    from = vera.ws.frames.length
    ok(await vera.ws.request({ type: 'group.invite.decline', conversationId: second.conversationId }))
    t.match(await invitationFrame(vera, second.conversationId!, from), { pending: false })
    t.same((await http('GET', '/v1/invitations', undefined, vera.token)).body, { invitations: [] })
    t.equal(
      refusal(
        await fred.ws.request({ type: 'group.add', conversationId: second.conversationId, userId: vera.id }),
      ),
      'INVITE_DECLINED',
      'a declined invitation cannot be sent again',
    )
    t.equal(
      refusal(
        await mallory.ws.request({ type: 'group.invite.accept', conversationId: second.conversationId }),
      ),
      'NO_INVITATION',
    )
  },
)

t.test('"contacts": only someone the user has written to in a direct conversation adds them', async (t) => {
  // carl chose "contacts" above. fred opening a direct conversation and writing is not enough…
  const dm = ok(await fred.ws.request({ type: 'direct.open', peerId: carl.id })).conversationId!
  await fred.ws.request({
    type: 'send',
    conversationId: dm,
    clientMsgId: 'cm_fred_0001',
    kind: 'text',
    text: 'hi',
  })
  const g1 = ok(await fred.ws.request({ type: 'group.create', title: 'g1', memberIds: [] })).conversationId
  t.same(ok(await fred.ws.request({ type: 'group.add', conversationId: g1, userId: carl.id })).invited, [
    carl.id,
  ])
  // …carl writing back is.
  const back = await carl.ws.request({
    type: 'send',
    conversationId: dm,
    clientMsgId: 'cm_carl_0001',
    kind: 'text',
    text: 'hello fred',
  })
  t.equal(back.type, 'sent')
  const g2 = ok(await fred.ws.request({ type: 'group.create', title: 'g2', memberIds: [carl.id] }))
  t.equal(g2.invited, undefined, 'added directly')
  await carl.ws.waitFor(
    (f) =>
      f.type === 'event' && f.conversationId === g2.conversationId && f.event.type === 'conversation.created',
  )
})

t.test('group.create with a clientGroupId is idempotent: a retry returns the same group', async (t) => {
  const frame = {
    type: 'group.create',
    title: 'retry me',
    memberIds: [carl.id],
    clientGroupId: 'cg_retry_0001',
  }
  const first = ok(await carl.ws.request(frame))
  const again = ok(await carl.ws.request(frame))
  t.equal(again.conversationId, first.conversationId)
  t.match(first.conversationId, /^c_/)
  const other = ok(await carl.ws.request({ ...frame, clientGroupId: 'cg_retry_0002' }))
  t.not(other.conversationId, first.conversationId)
  // Mallory has used up her creations (first test): retrying one that is stored still answers.
  const retried = await mallory.ws.request({ ...frame, clientGroupId: 'cg_mallory_0' })
  t.equal(retried.type, 'ok', 'a retry of a stored create is not counted against the limit')
  t.equal(refusal(await mallory.ws.request({ ...frame, clientGroupId: 'cg_mallory_9' })), 'TOO_MANY_GROUPS')
})
