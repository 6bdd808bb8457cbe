import t from 'tap'
import { created, ev, GROUP, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

/**
 * Join requests in the views (ADR 0217): the `join_requests` standings follow the domain's rule
 * across batches (requested, denied, withdrawn, approved, ended by the link's revocation), the
 * projector judges each answer by them, invitation rows end when the invitee joins, and `verify`
 * recomputes the same rows from the log.
 */
const { n, js, q, offsetOf, start, verify } = await viewsNamespace(1)
const shard = n.shardOf(GROUP)
const LINK = 'L'.repeat(16)
const OPEN = 'O'.repeat(16)
const EVE = 'u_eve0001'
const FAY = 'u_fay0001'
const requests = async () =>
  (
    await q(
      'SELECT user_id, state, link_id, by_user FROM V.join_requests WHERE conversation_id = $1 ORDER BY user_id',
      [GROUP],
    )
  ).map((r) => [r.user_id, r.state, r.link_id, r.by_user])
const members = async () =>
  (
    await q('SELECT user_id FROM V.members WHERE conversation_id = $1 AND active ORDER BY user_id', [GROUP])
  ).map((r) => r.user_id)

t.test('requests, answers and revocations in the views; verify agrees after a rebuild', async (t) => {
  const asks = (u: string, link = LINK) => ev('member.join_requested', GROUP, u, { userId: u, link })
  await append(js, n, created(GROUP, [U.ann, U.bob]))
  await append(
    js,
    n,
    ev('conversation.link_created', GROUP, U.ann, { linkId: LINK, hash: 'h'.repeat(43), approval: true }),
  )
  await append(js, n, ev('conversation.link_created', GROUP, U.ann, { linkId: OPEN, hash: 'o'.repeat(43) }))
  await append(js, n, asks(U.cat))
  await append(js, n, asks(U.dan))
  await append(js, n, asks(EVE))
  await append(js, n, ev('member.join_denied', GROUP, U.ann, { userId: U.dan }))
  // Rejected by every reader: a non-admin's approval, and a second request.
  await append(js, n, ev('member.joined', GROUP, U.bob, { userId: EVE, link: LINK }))
  await append(js, n, asks(EVE))
  const first = await append(js, n, ev('member.invited', GROUP, U.ann, { userId: FAY }))

  const p = await start()
  t.teardown(p.stop)
  await waitFor(async () => (await offsetOf(shard)) >= first, 10_000, 'first batch')
  t.same(await requests(), [
    [U.cat, 'pending', LINK, U.cat],
    [U.dan, 'denied', null, U.ann],
    [EVE, 'pending', LINK, EVE],
  ])
  t.same(await members(), [U.ann, U.bob], 'a non-admin’s approval let nobody in')
  const invitations = () => q('SELECT user_id, state FROM V.invitations WHERE conversation_id = $1', [GROUP])
  t.same(await invitations(), [{ user_id: FAY, state: 'invited' }])

  // Against rows of the first batch: an approval, a withdrawal, the link revoked under a request,
  // an invitation accepted (its row ends).
  await append(js, n, ev('member.joined', GROUP, FAY, { userId: FAY }))
  await append(js, n, ev('member.joined', GROUP, U.ann, { userId: U.cat, link: LINK }))
  await append(js, n, ev('member.join_cancelled', GROUP, EVE, { userId: EVE }))
  await append(js, n, asks(EVE))
  await append(js, n, ev('conversation.link_revoked', GROUP, U.ann, { linkId: LINK }))
  await append(js, n, ev('member.joined', GROUP, U.ann, { userId: EVE, link: LINK })) // raced the revocation
  const last = await append(js, n, ev('member.joined', GROUP, U.dan, { userId: U.dan, link: OPEN }))
  await waitFor(async () => (await offsetOf(shard)) >= last, 10_000, 'second batch')
  t.same(await requests(), [], 'approved, lifted by joining, ended with the link')
  t.same(await invitations(), [], 'the accepted invitation’s row is gone')
  t.same(await members(), [U.ann, U.bob, U.cat, U.dan, FAY].sort())
  const rejected = await q('SELECT reason FROM V.dead_letters ORDER BY seq')
  t.match(
    rejected.map((r) => r.reason),
    [/not an admin/, /asked already/, /no pending request by this link/],
  )

  const r = await verify()
  t.same(r.differences, [], 'a rebuild from the log gives the same views')
})
