import t from 'tap'
import { created, ev, GROUP, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

/**
 * Replies, edits, deletes, reactions and hides in the views (ADR 0210–0212): first all in one
 * batch (the batch plan folds them into its own rows), then against rows of earlier batches (the
 * UPDATEs and guarded INSERTs), then `verify` recomputes everything from the log with a bulk fill
 * and finds the same rows.
 */
const { n, js, q, offsetOf, start, verify } = await viewsNamespace(1)
const media = { mediaId: 'm_photo0001', kind: 'image' as const, mime: 'image/jpeg', size: 100 }
const shard = n.shardOf(GROUP)
const react = (actor: string, seq: number, senderId: string, emoji: string | null) =>
  ev('message.reacted', GROUP, actor, { seq, senderId, emoji })
const messages = async () =>
  Object.fromEntries(
    (
      await q(
        'SELECT seq, text, media_id, reply_to, edited_at, deleted_at, deleted_by FROM V.messages WHERE conversation_id = $1',
        [GROUP],
      )
    ).map((r) => [Number(r.seq), r]),
  )
const reactions = async () =>
  (
    await q('SELECT seq, user_id, emoji FROM V.reactions WHERE conversation_id = $1 ORDER BY seq, user_id', [
      GROUP,
    ])
  ).map((r) => [Number(r.seq), r.user_id, r.emoji])

t.test(
  'edits, deletes, reactions and hides in one batch and across batches, then verify agrees',
  async (t) => {
    await append(js, n, created(GROUP, [U.ann, U.bob, U.cat]))
    const s1 = await append(js, n, sent(GROUP, U.bob, 1, 'hello'))
    const s2 = await append(
      js,
      n,
      ev('message.sent', GROUP, U.ann, {
        clientMsgId: 'cmid-photo1',
        deviceId: 'd1',
        n: 2,
        kind: 'image',
        media,
      }),
    )
    const replyTo = { seq: s1, senderId: U.bob, kind: 'text' as const, preview: 'hello' }
    const s3 = await append(
      js,
      n,
      ev('message.sent', GROUP, U.cat, {
        clientMsgId: 'cmid-reply1',
        deviceId: 'd1',
        n: 3,
        kind: 'text',
        text: 'hi!',
        replyTo,
      }),
    )
    await append(
      js,
      n,
      ev('message.edited', GROUP, U.bob, { seq: s1, text: 'hello, edited' }, 1_700_000_000_500),
    )
    await append(js, n, react(U.cat, s1, U.bob, '👍'))
    await append(js, n, react(U.ann, s1, U.bob, '❤️'))
    await append(js, n, react(U.ann, s1, U.bob, '🎉'))
    await append(js, n, react(U.cat, s2, U.ann, '👍'))
    await append(
      js,
      n,
      ev('message.deleted', GROUP, U.ann, { seq: s2, senderId: U.ann, mediaId: media.mediaId }),
    )
    await append(js, n, react(U.bob, s2, U.ann, '😀')) // raced the delete
    const hid = await append(js, n, ev('message.hidden', GROUP, U.bob, { seq: s3 }))

    const p = await start()
    t.teardown(p.stop)
    await waitFor(async () => (await offsetOf(shard)) >= hid, 10_000, 'first batch')
    let m = await messages()
    t.match(m[s1], { text: 'hello, edited', edited_at: 1_700_000_000_500, deleted_at: null })
    t.match(m[s2], { text: null, media_id: null, deleted_by: U.ann })
    t.ok(m[s2]!.deleted_at)
    t.same(m[s3]!.reply_to, replyTo)
    t.same(await reactions(), [
      [s1, U.ann, '🎉'],
      [s1, U.cat, '👍'],
    ])
    t.same(await q('SELECT user_id, seq FROM V.hidden_messages WHERE conversation_id = $1', [GROUP]), [
      { user_id: U.bob, seq: String(s3) },
    ])
    t.match((await q('SELECT state, shared_seq FROM V.media WHERE conversation_id = $1', [GROUP]))[0], {
      state: 'deleted',
      shared_seq: null,
    })

    // Against rows stored by the first batch.
    await append(
      js,
      n,
      ev('message.edited', GROUP, U.bob, { seq: s1, text: 'hello again' }, 1_700_000_000_900),
    )
    await append(js, n, react(U.ann, s1, U.bob, null))
    await append(js, n, react(U.bob, s3, U.cat, '😀'))
    await append(js, n, ev('message.edited', GROUP, U.ann, { seq: s2, text: 'resurrected?' }))
    await append(
      js,
      n,
      ev('media.ready', GROUP, 'system', {
        mediaId: media.mediaId,
        variants: [{ name: 'thumb', mime: 'image/webp', size: 9 }],
      }),
    )
    const s4 = await append(
      js,
      n,
      ev('message.sent', GROUP, U.ann, {
        clientMsgId: 'cmid-mention',
        deviceId: 'd1',
        n: 4,
        kind: 'text',
        text: '@bob @cat',
        mentions: [U.bob, U.cat],
      }),
    )
    const last = await append(js, n, react(U.cat, s2, U.ann, '🎉'))
    await waitFor(async () => (await offsetOf(shard)) >= last, 10_000, 'second batch')
    const mentions = async () =>
      (
        await q('SELECT user_id, seq FROM V.mentions WHERE conversation_id = $1 ORDER BY user_id', [GROUP])
      ).map((r) => [r.user_id, Number(r.seq)])
    t.same(await mentions(), [
      [U.bob, s4],
      [U.cat, s4],
    ])
    m = await messages()
    t.match(m[s1], { text: 'hello again', edited_at: 1_700_000_000_900 })
    t.equal(m[s2]!.text, null, 'a tombstone is final')
    t.same(await reactions(), [
      [s1, U.cat, '👍'],
      [s3, U.bob, '😀'],
    ])
    t.equal(
      (await q('SELECT state FROM V.media WHERE conversation_id = $1', [GROUP]))[0].state,
      'deleted',
      'a late media.ready does not make deleted media reachable',
    )

    // Deleting a message of an earlier batch clears its reactions and mentions.
    await append(js, n, ev('message.deleted', GROUP, U.ann, { seq: s4, senderId: U.ann }))
    const del = await append(js, n, ev('message.deleted', GROUP, U.bob, { seq: s1, senderId: U.bob }))
    await waitFor(async () => (await offsetOf(shard)) >= del, 10_000, 'the delete')
    t.same(await mentions(), [])
    t.same(await reactions(), [[s3, U.bob, '😀']])
    t.match((await messages())[s1], { text: null, deleted_by: U.bob })

    const r = await verify()
    t.same(r.differences, [], 'a rebuild from the log gives the same views')
  },
)
