import { DEFAULT_LIMITS } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { chatClients, codeOf, verifyViews } from '../support/chat-clients.js'
import { testGateways } from '../support/gateway.js'
import { eventually, startProjectorProcess } from '../support/projector.js'
import { isType, TestClient } from '../support/ws-client.js'

/** Invite links end to end (ADR 0216): create, preview, join, revoke, limits, and verify. */
const ADMIN = 'u_admin0001'
const BOB = 'u_bob000001'
const NEW = 'u_newcomer1'
const GONE = 'u_removed01'
const GREEDY = 'u_greedy001'

t.test('an admin’s invite link lets anyone logged in preview and join until it is revoked', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const projector = await startProjectorProcess(tn)
  t.teardown(projector.kill)
  const gws = await testGateways(tn)
  const gw = await gws.start({ limits: { ...DEFAULT_LIMITS, linkUsesPerMinute: 6, maxInviteLinks: 2 } })
  t.teardown(() => gw.close())
  const { seen, client } = chatClients(t, () => gw.url, gws.token)
  const admin = client(ADMIN)
  const bob = client(BOB)
  const newcomer = client(NEW)
  const gone = client(GONE)
  await Promise.all([admin, bob, newcomer, gone].map((c) => c.ready()))
  const g = (await admin.createGroup('Climbing club', [BOB, GONE])).conversationId!
  await admin.removeMember(g, GONE)

  t.equal(await codeOf(bob.createInviteLink(g)), 'NOT_ADMIN', 'a non-admin')
  t.equal(await codeOf(gone.createInviteLink(g)), 'NOT_A_MEMBER', 'a removed member')
  t.equal(await codeOf(newcomer.createInviteLink(g)), 'NOT_A_MEMBER', 'a non-member')
  const link = await admin.createInviteLink(g)
  t.match(link, { linkId: /^[A-Za-z0-9_-]{16}$/, token: new RegExp(`^${g}\\.`) })
  const created = await eventually(
    async () => seen.get(bob)!.find((f) => f.event.type === 'conversation.link_created'),
    10_000,
    'the link event',
  )
  t.notOk(JSON.stringify(created).includes(link.token.split('.')[1]!), 'the secret is not in the log')

  t.same(await newcomer.previewInviteLink(link.token), {
    conversationId: g,
    title: 'Climbing club',
    memberCount: 2,
  })
  const wrong = `${g}.${'A'.repeat(22)}`
  t.equal(await codeOf(newcomer.previewInviteLink(wrong)), 'INVALID_LINK', 'a wrong secret')
  t.equal(await codeOf(newcomer.previewInviteLink(`c_nosuchgroup.${'A'.repeat(22)}`)), 'INVALID_LINK')

  const joined = await newcomer.joinByInviteLink(link.token)
  t.ok(joined.seq)
  t.same((await newcomer.joinByInviteLink(link.token)).seq, undefined, 'joining again: ok, nothing stored')
  const hello = await admin.send(g, { text: 'welcome!' })
  await eventually(
    async () => seen.get(newcomer)!.find((f) => f.seq === hello.seq),
    10_000,
    'the newcomer receives the group',
  )
  t.ok((await gone.joinByInviteLink(link.token)).seq, 'a removed member may come back by a live link')

  // Limits: live links per group, uses per user.
  const second = await admin.createInviteLink(g)
  t.equal(await codeOf(admin.createInviteLink(g)), 'TOO_MANY_LINKS')
  // Raw frames: the client library would wait out RATE_LIMITED and write again.
  const raw = await TestClient.open(gw.url, { token: await gws.token(GREEDY, 'raw') })
  await raw.waitFor(isType('hello'))
  for (let i = 0; i < 7; i++) raw.send({ type: 'group.link.preview', rid: `p${i}`, token: second.token })
  const answers = []
  for (let i = 0; i < 7; i++)
    answers.push(await raw.waitFor((f) => (f.type === 'ok' || f.type === 'error') && f.rid === `p${i}`))
  t.same(
    answers.map((f) => (f.type === 'error' ? f.code : f.type)),
    ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'RATE_LIMITED'],
    'previews and joins are limited per user',
  )
  raw.close()

  // Revoked: it opens nothing any more.
  t.equal(await codeOf(bob.revokeInviteLink(g, link.linkId)), 'NOT_ADMIN')
  t.ok((await admin.revokeInviteLink(g, link.linkId)).seq)
  t.equal(await codeOf(bob.joinByInviteLink(link.token)), 'INVALID_LINK', 'whoever uses it')
  const late = client('u_latecomer')
  await late.ready()
  t.equal(await codeOf(late.previewInviteLink(link.token)), 'INVALID_LINK')
  t.equal(await codeOf(late.joinByInviteLink(link.token)), 'INVALID_LINK')
  t.equal(await codeOf(admin.revokeInviteLink(g, link.linkId)), 'INVALID_LINK', 'revoked already')

  await eventually(
    async () => {
      const v = verifyViews(tn)
      return v.status === 0 ? v : undefined
    },
    20_000,
    'verify agrees',
  )
  t.pass('verify agrees after a rebuild')
})
