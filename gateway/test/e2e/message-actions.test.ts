import type { InboxEntry } from '@chatapp/contracts'
import { createTestNamespace } from '@chatapp/infra'
import pg from 'pg'
import t from 'tap'
import { pgViewReads } from '../../src/views/view-reads.js'
import { chatClients, codeOf, verifyViews } from '../support/chat-clients.js'
import { testGateways } from '../support/gateway.js'
import { eventually, startProjectorProcess } from '../support/projector.js'

/**
 * Replies, edits, deletes (for me, for everyone) and reactions end to end (ADR 0210–0212): the
 * client library over a real gateway, the projector process building the views, and the
 * projector's `verify` (a rebuild from the log) agreeing with them at the end.
 */
const ADMIN = 'u_admin0001'
const BOB = 'u_bob000001'
const CAT = 'u_cat000001'
const OUT = 'u_outsider1'
const GONE = 'u_removed01'

t.test(
  'replies, edits, forwards, deletes and reactions through the client library, and verify agrees',
  async (t) => {
    const tn = await createTestNamespace()
    t.teardown(tn.cleanup)
    const projector = await startProjectorProcess(tn)
    t.teardown(projector.kill)
    const gws = await testGateways(tn)
    const gw = await gws.start()
    t.teardown(() => gw.close())
    const pool = new pg.Pool({ connectionString: tn.stack.databaseUrl, max: 2 })
    t.teardown(() => pool.end())
    const reads = pgViewReads(pool, tn.names.dbSchemas.views)

    const { seen, client, received } = chatClients(t, () => gw.url, gws.token)

    const admin = client(ADMIN)
    const bob = client(BOB)
    const bob2 = client(BOB, 'dev2')
    const cat = client(CAT)
    const outsider = client(OUT)
    const gone = client(GONE)
    await Promise.all([admin, bob, bob2, cat, outsider, gone].map((c) => c.ready()))
    const g = (await admin.createGroup('Team', [BOB, CAT, GONE])).conversationId!
    await admin.removeMember(g, GONE)
    // Everyone learns of the group from the projector's notices, then receives its events live.
    for (const c of [bob, bob2, cat]) await received(c, 'member.removed')

    // Reply.
    const hello = await bob.send(g, { text: 'hello, team' })
    const early = await cat.send(g, { text: 'an early one' })
    await cat.editMessage(g, early.seq, 'an early one, fixed')
    const quoteOfEdited = await bob.send(g, { text: 'quoting' }, { replyTo: early.seq })
    t.equal(
      (await received(cat, 'message.sent', (e) => e.data.text === 'quoting')).data.replyTo?.preview,
      'an early one, fixed',
      'a quote previews the latest text',
    )
    const catDm = (await cat.openDirect(OUT)).conversationId!
    // Mentions: members only; counted unread for the mentioned until they read past them.
    const mention = await admin.send(g, { text: '@cat @outsider see this' }, { mentions: [CAT, OUT] })
    t.same((await received(cat, 'message.sent', (e) => e.data.mentions !== undefined)).data.mentions, [CAT])
    t.equal(
      await codeOf(cat.send(catDm, { text: 'x' }, { mentions: [OUT] })),
      'INVALID_FRAME',
      'no mentions in a direct conversation',
    )
    const unreadMentions = async (user: string) =>
      (await reads.inbox(user)).find((x) => x.conversationId === g)?.unreadMentions
    await eventually(async () => (await unreadMentions(CAT)) === 1, 10_000, 'Cat has an unread mention')
    t.equal(await unreadMentions(BOB), 0)
    const synced = client(CAT, 'dev4')
    const catInbox = new Promise<InboxEntry[]>((resolve) => synced.once('inbox', resolve))
    await synced.ready()
    t.equal(
      (await catInbox).find((x) => x.conversationId === g)?.unreadMentions,
      1,
      'the sync inbox counts it too',
    )
    cat.markRead(g, mention.seq)
    await eventually(async () => (await unreadMentions(CAT)) === 0, 10_000, 'read: no unread mention')

    const replied = await cat.send(g, { text: 'hi bob' }, { replyTo: hello.seq })
    const reply = await received(bob, 'message.sent', (e) => e.data.text === 'hi bob')
    t.same(reply.data.replyTo, { seq: hello.seq, senderId: BOB, kind: 'text', preview: 'hello, team' })
    t.equal(await codeOf(outsider.send(g, { text: 'x' }, { replyTo: hello.seq })), 'NOT_A_MEMBER')
    t.equal(await codeOf(gone.send(g, { text: 'x' }, { replyTo: hello.seq })), 'NOT_A_MEMBER')
    t.equal(await codeOf(cat.send(g, { text: 'x' }, { replyTo: 1 })), 'MESSAGE_NOT_FOUND', 'not a message')

    // Edit.
    t.equal(
      await codeOf(cat.editMessage(g, hello.seq, 'hacked')),
      'NOT_AUTHOR',
      'a member who is not the author',
    )
    t.equal(
      await codeOf(admin.editMessage(g, hello.seq, 'hacked')),
      'NOT_AUTHOR',
      'an admin is not the author',
    )
    t.equal(await codeOf(outsider.editMessage(g, hello.seq, 'hacked')), 'NOT_A_MEMBER')
    t.equal(await codeOf(gone.editMessage(g, hello.seq, 'hacked')), 'NOT_A_MEMBER')
    const edit = await bob.editMessage(g, hello.seq, 'hello, whole team')
    t.ok(edit.seq)
    t.equal(
      (await received(cat, 'message.edited', (e) => e.data.seq === hello.seq)).data.text,
      'hello, whole team',
    )

    // Reactions.
    await cat.react(g, hello.seq, '👍')
    await cat.react(g, hello.seq, '❤️')
    await admin.react(g, hello.seq, '❤️')
    await bob.react(g, replied.seq, '🎉')
    const r = await received(bob, 'message.reacted', (e) => e.actor === CAT)
    t.equal(r.data.senderId, BOB, 'a reaction names the author it notifies')
    t.equal(await codeOf(cat.react(g, hello.seq, 'nice')), 'INVALID_EMOJI')
    t.equal(await codeOf(outsider.react(g, hello.seq, '👍')), 'NOT_A_MEMBER')
    t.equal(await codeOf(gone.react(g, hello.seq, '👍')), 'NOT_A_MEMBER')

    // Forward: Cat forwards Bob's message to her direct conversation with the outsider; it arrives
    // marked forwarded, with Cat as its sender and nothing of Bob.
    const dm = (await cat.openDirect(OUT)).conversationId!
    const fwd = await cat.forward(dm, { conversationId: g, seq: hello.seq, kind: 'text' })
    const arrived = await received(outsider, 'message.sent', (e) => e.data.forwarded !== undefined)
    t.same(
      [arrived.actor, arrived.data.text, arrived.data.forwarded],
      [CAT, 'hello, whole team', { count: 1 }],
      'the latest text, forwarded once',
    )
    t.notOk(JSON.stringify(arrived).includes(BOB), 'the original sender does not travel')
    const twice = await outsider.forward(dm, { conversationId: dm, seq: fwd.seq, kind: 'text' })
    t.ok(twice.seq)
    t.equal(
      (await received(cat, 'message.sent', (e) => e.data.forwarded?.count === 2)).actor,
      OUT,
      'forwarded again: the count grows',
    )
    const from = { conversationId: g, seq: hello.seq, kind: 'text' as const }
    t.equal(await codeOf(outsider.forward(dm, from)), 'MESSAGE_NOT_FOUND', 'a non-member of the source')
    t.equal(await codeOf(gone.forward(g, from)), 'NOT_A_MEMBER', 'a removed member, into the group')
    t.equal(await codeOf(cat.forward(dm, { ...from, kind: 'image' })), 'INVALID_FRAME', 'the wrong kind')
    t.equal(await codeOf(cat.editMessage(dm, fwd.seq, 'my words')), 'NOT_EDITABLE')

    // Delete for me: Bob hides Cat's reply; only Bob's devices hear of it.
    await bob.deleteMessage(g, replied.seq, 'me')
    await received(bob2, 'message.hidden', (e) => e.data.seq === replied.seq)

    // Delete for everyone: not by a member who is neither author nor admin; by the admin.
    t.equal(await codeOf(cat.deleteMessage(g, hello.seq, 'everyone')), 'NOT_ADMIN')
    t.equal(await codeOf(outsider.deleteMessage(g, hello.seq, 'everyone')), 'NOT_A_MEMBER')
    t.equal(await codeOf(gone.deleteMessage(g, hello.seq, 'everyone')), 'NOT_A_MEMBER')
    const del = await admin.deleteMessage(g, hello.seq, 'everyone')
    t.ok(del.seq)
    t.same((await received(cat, 'message.deleted')).data, { seq: hello.seq, senderId: BOB })
    t.equal(
      (await admin.deleteMessage(g, hello.seq, 'everyone')).seq,
      undefined,
      'deleting again: ok, nothing stored',
    )
    t.equal(await codeOf(bob.editMessage(g, hello.seq, 'back')), 'MESSAGE_DELETED')
    t.equal(await codeOf(cat.react(g, hello.seq, '👍')), 'MESSAGE_DELETED')
    t.equal(await codeOf(cat.forward(dm, from)), 'MESSAGE_DELETED', 'a deleted message cannot be forwarded')
    t.notOk(
      seen.get(cat)!.some((f) => f.event.type === 'message.hidden'),
      'a hide never reaches another member',
    )

    // A new device replays the log: the deleted message is a tombstone, the quote has no preview,
    // and the edit of the deleted message is not replayed at all.
    const fresh = client(CAT, 'dev3')
    const inbox = new Promise<InboxEntry[]>((resolve) => fresh.once('inbox', resolve))
    await fresh.ready()
    const replayed = await received(fresh, 'message.deleted')
    t.ok(replayed)
    const frames = seen.get(fresh)!.map((f) => f.event)
    const original = frames.find((e) => e.type === 'message.sent' && e.data.n === 1)
    t.same(original?.data, { clientMsgId: hello.clientMsgId, deviceId: 'dev1', n: 1, kind: 'text' })
    const quoting = frames.find(
      (e) => e.type === 'message.sent' && e.data.clientMsgId === replied.clientMsgId,
    )
    t.same(quoting?.type === 'message.sent' && quoting.data.replyTo, {
      seq: hello.seq,
      senderId: BOB,
      kind: 'text',
    })
    t.notOk(
      frames.some((e) => e.type === 'message.edited' && e.data.seq === hello.seq),
      'the deleted text of an edit is not replayed',
    )
    t.notOk(
      JSON.stringify(seen.get(fresh)!.filter((f) => f.conversationId === g)).includes('hello'),
      'no deleted content in the replay (the forward elsewhere is a copy, and stays)',
    )
    t.match((await inbox).find((x) => x.conversationId === g)?.lastMessage, { text: 'hi bob' })

    // The views: history as Cat and as Bob (who hid the reply).
    const last = await eventually(
      async () => {
        const h = await reads.history(g, {}, 0, CAT)
        return h.messages.find((m) => m.seq === hello.seq)?.deleted ? h : undefined
      },
      10_000,
      'projection',
    )
    t.same(
      last.messages
        .filter((m) => m.seq === hello.seq || m.seq === replied.seq)
        .map((m) => [m.seq, m.text, m.deleted, m.replyTo, m.reactions]),
      [
        [hello.seq, undefined, true, undefined, undefined],
        [
          replied.seq,
          'hi bob',
          undefined,
          { seq: hello.seq, senderId: BOB, kind: 'text' },
          [{ emoji: '🎉', count: 1, userIds: [BOB] }],
        ],
      ],
    )
    t.same(
      (await reads.history(g, {}, 0, BOB)).messages.map((m) => m.seq),
      [hello.seq, early.seq, quoteOfEdited.seq, mention.seq],
      'a message Bob hid is not in his history',
    )
    const bobsInbox = (await reads.inbox(BOB)).find((x) => x.conversationId === g)
    t.match(
      bobsInbox?.lastMessage,
      { seq: mention.seq, text: '@cat @outsider see this' },
      'his inbox shows the message before the one he hid',
    )
    t.match(
      (await reads.history(g, {}, 0, BOB)).messages.find((m) => m.seq === early.seq),
      { text: 'an early one, fixed', editedAt: Number },
    )
    const dmHistory = await eventually(
      async () => {
        const h = await reads.history(dm, {}, 0, OUT)
        return h.messages.length === 2 ? h : undefined
      },
      10_000,
      'the forwards projected',
    )
    t.same(
      dmHistory.messages.map((m) => [m.senderId, m.forwarded]),
      [
        [CAT, { count: 1 }],
        [OUT, { count: 2 }],
      ],
    )

    // A rebuild of the views from the log gives the same rows.
    const v = verifyViews(tn)
    t.equal(v.status, 0, `verify: ${v.output}`)
  },
)
