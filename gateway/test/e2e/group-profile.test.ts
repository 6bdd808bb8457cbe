import type { InboxEntry, UploadResponse } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import pg from 'pg'
import sharp from 'sharp'
import t from 'tap'
import { pgViewReads } from '../../src/views/view-reads.js'
import { chatClients, codeOf, verifyViews } from '../support/chat-clients.js'
import { testGateways } from '../support/gateway.js'
import { gatewayWithMedia } from '../support/media-gateway.js'
import { eventually, startProjectorProcess } from '../support/projector.js'

/**
 * A group's profile and settings end to end (ADR 0215): the client library over a gateway with
 * its media module, the projector process, and `verify` agreeing after a rebuild.
 */
const ADMIN = 'u_admin0001'
const BOB = 'u_bob000001'
const OUT = 'u_outsider1'
const GONE = 'u_removed01'

t.test('group title, description, avatar and settings, with who may change them', async (t) => {
  const tn = await createTestNamespace({ shards: 1 })
  t.teardown(tn.cleanup)
  const projector = await startProjectorProcess(tn)
  t.teardown(projector.kill)
  const gws = await testGateways(tn)
  const { gw, media, ws: url } = await gatewayWithMedia(t, tn, gws)
  const pool = new pg.Pool({ connectionString: tn.stack.databaseUrl, max: 2 })
  t.teardown(() => pool.end())
  const reads = pgViewReads(pool, tn.names.dbSchemas.views)

  const { client, received } = chatClients(t, () => url, gws.token)
  const admin = client(ADMIN)
  const bob = client(BOB)
  const outsider = client(OUT)
  const gone = client(GONE)
  await Promise.all([admin, bob, outsider, gone].map((c) => c.ready()))
  const g = (await admin.createGroup('Team', [BOB, GONE])).conversationId!
  await admin.removeMember(g, GONE)
  await received(bob, 'member.removed')

  // Only admins change the info by default.
  t.equal(await codeOf(bob.setGroupProfile(g, { description: 'mine' })), 'NOT_ADMIN', 'a non-admin')
  t.equal(await codeOf(bob.rename(g, 'Mine')), 'NOT_ADMIN')
  t.equal(await codeOf(outsider.setGroupProfile(g, { description: 'x' })), 'NOT_A_MEMBER', 'a non-member')
  t.equal(await codeOf(gone.setGroupProfile(g, { description: 'x' })), 'NOT_A_MEMBER', 'a removed member')
  t.equal(await codeOf(bob.setGroupSettings(g, { sendMessages: 'admins' })), 'NOT_ADMIN')

  // The avatar is an image uploaded through the media pipeline.
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#224488' } })
    .png()
    .toBuffer()
  const up = await fetch(`http://127.0.0.1:${gw.port}/v1/media`, {
    method: 'POST',
    body: png,
    headers: { authorization: `Bearer ${await gws.token(ADMIN)}` },
  })
  const avatar = (await up.json()) as UploadResponse
  t.equal(
    await codeOf(bob.setGroupProfile(g, { avatarMediaId: avatar.mediaId })),
    'NOT_ADMIN',
    'not by a non-admin',
  )
  const changed = await admin.setGroupProfile(g, { description: 'Our team', avatarMediaId: avatar.mediaId })
  t.ok(changed.seq)
  t.match((await received(bob, 'conversation.profile_changed')).data, {
    description: 'Our team',
    avatar: { mediaId: avatar.mediaId, kind: 'image' },
  })
  t.equal(
    (await admin.setGroupProfile(g, { description: 'Our team' })).seq,
    undefined,
    'no change, nothing stored',
  )

  // Settings: everyone edits the info, only admins send.
  await admin.setGroupSettings(g, { editInfo: 'everyone', sendMessages: 'admins' })
  t.same((await received(bob, 'conversation.settings_changed')).data, {
    editInfo: 'everyone',
    sendMessages: 'admins',
  })
  t.ok((await bob.rename(g, 'Bob’s team')).seq, 'a member renames now')
  t.ok((await bob.setGroupProfile(g, { description: null })).seq)
  t.equal(await codeOf(bob.send(g, { text: 'hello' })), 'ADMINS_ONLY')
  t.ok((await admin.send(g, { text: 'announcement' })).seq)
  t.equal(await codeOf(bob.setGroupSettings(g, { sendMessages: 'everyone' })), 'NOT_ADMIN')

  // A new device's inbox, and the views' inbox, show the profile and settings.
  const fresh = client(BOB, 'dev2')
  const inbox = new Promise<InboxEntry[]>((resolve) => fresh.once('inbox', resolve))
  await fresh.ready()
  const expected = {
    title: 'Bob’s team',
    avatar: { mediaId: avatar.mediaId },
    settings: { editInfo: 'everyone', sendMessages: 'admins' },
  }
  const synced = (await inbox).find((x) => x.conversationId === g)
  t.match(synced, expected)
  t.notOk(synced && 'description' in synced, 'the description was removed')
  const viewed = await eventually(
    async () => (await reads.inbox(BOB)).find((x) => x.conversationId === g && x.title === 'Bob’s team'),
    10_000,
    'the views',
  )
  t.match(viewed, expected)
  t.notOk('description' in viewed)

  // Members may download the avatar; nobody else.
  t.ok(await media.authorise(avatar.mediaId, BOB), 'a member')
  t.equal(await media.authorise(avatar.mediaId, OUT), undefined, 'a non-member')

  const v = verifyViews(tn)
  t.equal(v.status, 0, `verify: ${v.output}`)
})
