import { connect } from '@chatapp/client'
import type { MembersResponse } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import t from 'tap'
import { memberRoutes } from '../../src/conversation/member-routes.js'
import { mountHttp } from '../../src/transport/http/uws-http.js'
import { testGateways } from '../support/gateway.js'
import { eventually } from '../support/projector.js'

const A = 'u_alice0001'
const B = 'u_bob000001'
const C = 'u_carol0001'
const D = 'u_dave00001'
const names: Record<string, string> = { [A]: 'alice', [B]: 'bob', [C]: 'carol', [D]: 'dave' }

t.test('members come from the log with names, roles and watermarks, for members only', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const gws = await testGateways(tn)
  const gw = await gws.start(
    {},
    {
      mountHttp: (app, ctx) =>
        mountHttp(
          app,
          memberRoutes({
            store: ctx.store,
            profiles: async (ids) =>
              ids.flatMap((u) =>
                names[u] ? [{ userId: u, username: names[u], displayName: names[u] }] : [],
              ),
          }),
          { tokens: gws.tokens, log: createLogger('test', 'silent') },
        ),
    },
  )
  t.teardown(() => gw.close())
  const base = `http://127.0.0.1:${gw.port}`
  const get = async (user: string, id: string) => {
    const r = await fetch(`${base}/v1/conversations/${id}/members`, {
      headers: { authorization: `Bearer ${await gws.token(user)}` },
    })
    return { status: r.status, body: (await r.json()) as MembersResponse & { error?: { code: string } } }
  }
  for (const u of [B, C, D]) await gws.token(u)
  const a = connect(gw.url, { deviceId: 'dev1', tokenProvider: () => gws.token(A), pingIntervalMs: 0 })
  const b = connect(gw.url, { deviceId: 'dev1', tokenProvider: () => gws.token(B), pingIntervalMs: 0 })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  await Promise.all([a.ready(), b.ready()])

  const { conversationId } = await a.createGroup('Trip', [B, C])
  const group = conversationId!
  const sent = await a.send(group, { text: 'hello' })

  const first = await get(A, group)
  t.equal(first.status, 200)
  t.match(first.body, { conversationId: group, kind: 'group', title: 'Trip', invited: [] })
  t.same(
    first.body.members.map((m) => [m.username, m.role]),
    [
      ['alice', 'admin'],
      ['bob', 'member'],
      ['carol', 'member'],
    ],
    'longest-standing first, with roles',
  )

  // Bob reads: his watermark is in the answers from then on (the log's, not a lagging view's).
  b.markRead(group, sent.seq)
  const bob = await eventually(
    async () => (await get(A, group)).body.members.find((m) => m.userId === B && m.readUpTo >= sent.seq),
    10_000,
    "Bob's read watermark",
  )
  t.match(bob, { readUpTo: sent.seq, deliveredUpTo: sent.seq })

  const outsider = await get(D, group)
  t.equal(outsider.status, 404)
  t.equal(outsider.body.error?.code, 'NOT_A_MEMBER', 'a non-member learns nothing')
  t.equal((await get(A, 'c_doesnotexist00000000')).body.error?.code, 'NOT_A_MEMBER')
  t.equal((await get(A, '..')).status, 404)
})
