import type { DeadLetter } from '@chatapp/contracts'
import t from 'tap'
import { created, ev, sent, U } from './support/events.js'
import { append, waitFor } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

/**
 * Events appended straight to the log that the conversation's rules refuse at their place (what
 * a race during a stream leader change, or a writer that skipped `decide`, leaves behind): the
 * projector judges them with the domain's `admit` like every reader, dead-letters each as
 * EVENT_REJECTED, changes no view row for them, and goes on with the shard.
 */
const { n, jsm, js, q, offsetOf, start, verify } = await viewsNamespace(1)

t.test(
  'rejected events are dead-lettered EVENT_REJECTED, leave the views as they were, and the shard goes on',
  async (t) => {
    const conv = 'c_judged001'
    const p = await start()
    t.teardown(p.stop)
    await append(js, n, created(conv))
    const first = await append(js, n, sent(conv, U.ann, 1, 'one'))
    await waitFor(async () => (await offsetOf(0)) >= first, 10_000, 'the group projected')
    const snapshot = async () => ({
      conversation: await q('SELECT * FROM V.conversations WHERE conversation_id = $1', [conv]),
      members: await q('SELECT * FROM V.members WHERE conversation_id = $1 ORDER BY user_id', [conv]),
      messages: await q('SELECT seq, n, text FROM V.messages WHERE conversation_id = $1 ORDER BY seq', [
        conv,
      ]),
      invitations: await q('SELECT * FROM V.invitations WHERE conversation_id = $1', [conv]),
    })
    const before = await snapshot()

    const rejected = {
      joinedUninvited: await append(js, n, ev('member.joined', conv, U.dan, { userId: U.dan })),
      wrongN: await append(js, n, sent(conv, U.bob, 3, 'skips n = 2')),
      repeatedN: await append(js, n, sent(conv, U.bob, 1, 'n = 1 again')),
      nonMember: await append(js, n, sent(conv, U.dan, 2, 'from outside')),
      removeNonMember: await append(js, n, ev('member.removed', conv, U.ann, { userId: U.dan })),
      notAdmin: await append(js, n, ev('conversation.renamed', conv, U.bob, { title: 'mine' })),
    }
    await waitFor(async () => (await offsetOf(0)) >= rejected.notAdmin, 10_000, 'past the rejected events')
    t.same(await snapshot(), before, 'no view row changed, not even the conversation’s position')

    const dls = await q('SELECT seq, code, reason FROM V.dead_letters ORDER BY seq')
    t.same(
      dls.map((d) => [Number(d.seq), d.code, d.reason]),
      [
        [rejected.joinedUninvited, 'EVENT_REJECTED', `member.joined: ${U.dan} has no pending invitation`],
        [rejected.wrongN, 'EVENT_REJECTED', 'message.sent: numbered 3 where 2 comes next'],
        [rejected.repeatedN, 'EVENT_REJECTED', 'message.sent: numbered 1 where 2 comes next'],
        [rejected.nonMember, 'EVENT_REJECTED', `message.sent: ${U.dan} is not a member`],
        [rejected.removeNonMember, 'EVENT_REJECTED', `member.removed: ${U.dan} is not a member`],
        [rejected.notAdmin, 'EVENT_REJECTED', `conversation.renamed: ${U.bob} is not an admin`],
      ],
    )
    // The copy on the dead-letter stream carries the code too (the chaos run counts them).
    const copy = await jsm.streams.getMessage(n.deadLetterStream, {
      last_by_subj: n.deadLetterSubject('projector'),
    })
    const letter = JSON.parse(new TextDecoder().decode(copy!.data)) as DeadLetter
    t.match(letter, { code: 'EVENT_REJECTED', seq: rejected.notAdmin, source: 'projector' })

    // The shard keeps projecting, judging what follows on the state without the rejected events.
    const next = await append(js, n, sent(conv, U.bob, 2, 'two'))
    await waitFor(async () => (await offsetOf(0)) >= next, 10_000, 'the next message')
    t.same(
      (await snapshot()).messages.map((m) => [Number(m.seq), m.n, m.text]),
      [
        [first, 1, 'one'],
        [next, 2, 'two'],
      ],
    )
    t.same((await verify(conv)).differences, [], 'a recomputation from the log agrees')
  },
)
