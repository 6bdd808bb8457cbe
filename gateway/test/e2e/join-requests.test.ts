import { DEFAULT_LIMITS, type MembersResponse } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import t from 'tap'
import { memberRoutes } from '../../src/conversation/member-routes.js'
import { mountHttp } from '../../src/transport/http/uws-http.js'
import { chatClients, codeOf, verifyViews } from '../support/chat-clients.js'
import { testGateways } from '../support/gateway.js'
import { eventually, startProjectorProcess } from '../support/projector.js'

/**
 * Invite links that need an admin's approval (ADR 0217), end to end through the client library:
 * a request instead of a join, the admins told live, approve / deny / withdraw with their
 * authorisation, the requester let in (and sent the group), the link's revocation ending its
 * requests, the pending bound, and `verify` agreeing after a rebuild.
 */
const ADMIN = 'u_admin0001'
const BOB = 'u_bob000001'
const REQ = 'u_request01'
const SUE = 'u_sue000001'
const GONE = 'u_removed01'
const OUT = 'u_outside01'

t.test('a link that needs approval: requests, answers, revocation, limits, verify', async (t) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const projector = await startProjectorProcess(tn)
  t.teardown(projector.kill)
  const gws = await testGateways(tn)
  const gw = await gws.start(
    { limits: { ...DEFAULT_LIMITS, maxJoinRequests: 2 } },
    {
      mountHttp: (app, ctx) =>
        mountHttp(
          app,
          memberRoutes({
            store: ctx.store,
            profiles: async (ids) => ids.map((u) => ({ userId: u, username: u.slice(2), displayName: u })),
          }),
          { tokens: gws.tokens, log: createLogger('test', 'silent') },
        ),
    },
  )
  t.teardown(() => gw.close())
  const members = async (user: string, id: string) => {
    const r = await fetch(`http://127.0.0.1:${gw.port}/v1/conversations/${id}/members`, {
      headers: { authorization: `Bearer ${await gws.token(user)}` },
    })
    return (await r.json()) as MembersResponse
  }
  const { seen, client, received } = chatClients(t, () => gw.url, gws.token)
  const [admin, bob, req, sue, gone, out] = [ADMIN, BOB, REQ, SUE, GONE, OUT].map((u) => client(u))
  await Promise.all([admin, bob, req, sue, gone, out].map((c) => c!.ready()))
  const g = (await admin!.createGroup('Book club', [BOB, GONE])).conversationId!
  await admin!.removeMember(g, GONE)

  t.equal(await codeOf(bob!.createInviteLink(g, { approval: true })), 'NOT_ADMIN', 'a non-admin')
  const link = await admin!.createInviteLink(g, { approval: true })
  t.match(await req!.previewInviteLink(link.token), { conversationId: g, memberCount: 2, approval: true })

  // Asking is not joining; the admins (every member) are told live.
  const asked = await req!.joinByInviteLink(link.token)
  t.match(asked, { conversationId: g, requested: true })
  t.ok(asked.seq)
  const told = await received(admin!, 'member.join_requested', (e) => e.data.userId === REQ)
  t.same(told.data, { userId: REQ, link: link.linkId })
  t.equal(await codeOf(req!.send(g, { text: 'let me in' })), 'NOT_A_MEMBER', 'a requester is not a member')
  t.equal(await codeOf(req!.joinByInviteLink(link.token)), 'JOIN_REQUESTED', 'asking twice')
  t.match((await members(ADMIN, g)).joinRequests, [{ userId: REQ, link: link.linkId, seq: asked.seq }])
  t.equal((await members(BOB, g)).joinRequests, undefined, 'the list is the admins’')

  // Who may answer.
  t.equal(await codeOf(bob!.approveJoinRequest(g, REQ)), 'NOT_ADMIN', 'a member who is not an admin')
  t.equal(await codeOf(gone!.approveJoinRequest(g, REQ)), 'NOT_A_MEMBER', 'a removed member')
  t.equal(await codeOf(out!.denyJoinRequest(g, REQ)), 'NOT_A_MEMBER', 'a non-member')
  t.equal(await codeOf(admin!.approveJoinRequest(g, SUE)), 'NO_JOIN_REQUEST', 'someone who never asked')

  // Approved: the requester is a member, told so, and receives the group from then on.
  const approved = await admin!.approveJoinRequest(g, REQ)
  t.ok(approved.seq)
  const joined = await received(req!, 'member.joined', (e) => e.data.userId === REQ)
  t.match(joined, { actor: ADMIN, data: { userId: REQ, link: link.linkId } })
  t.same((await admin!.approveJoinRequest(g, REQ)).seq, undefined, 'approving again: ok, nothing stored')
  const hello = await admin!.send(g, { text: 'welcome' })
  await eventually(
    async () => seen.get(req!)!.find((f) => f.seq === hello.seq),
    10_000,
    'the new member’s feed',
  )

  // Withdrawn, asked again, denied: final for asking.
  await sue!.joinByInviteLink(link.token)
  t.ok((await sue!.cancelJoinRequest(g)).seq)
  t.equal(await codeOf(sue!.cancelJoinRequest(g)), 'NO_JOIN_REQUEST', 'nothing left to withdraw')
  await sue!.joinByInviteLink(link.token)
  t.ok((await admin!.denyJoinRequest(g, SUE)).seq)
  t.equal(await codeOf(sue!.joinByInviteLink(link.token)), 'JOIN_DENIED', 'a denied user cannot ask again')

  // A removed member asks like anyone; revoking the link ends the request.
  t.match(await gone!.joinByInviteLink(link.token), { requested: true })
  await admin!.revokeInviteLink(g, link.linkId)
  t.equal(await codeOf(admin!.approveJoinRequest(g, GONE)), 'NO_JOIN_REQUEST', 'its link was revoked')
  t.same((await members(ADMIN, g)).joinRequests, [])

  // At most maxJoinRequests (2 here) pending per group.
  const second = await admin!.createInviteLink(g, { approval: true })
  await gone!.joinByInviteLink(second.token)
  await out!.joinByInviteLink(second.token)
  const late = client('u_latecomer')
  await late.ready()
  t.equal(await codeOf(late.joinByInviteLink(second.token)), 'TOO_MANY_JOIN_REQUESTS')

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
