import t from 'tap'
import { fnv1a32, isValidNamespace, names, parseConvSubject, shardOf } from '../src/naming.js'
import { kvSpecs, streamSpecs } from '../src/streams.js'

t.test('the shard of a conversation is stable and within range', async (t) => {
  t.equal(fnv1a32(''), 0x811c9dc5)
  t.equal(fnv1a32('a'), 0xe40c292c)
  for (const id of ['c_aaaaaaaa', 'd_bbbbbbbb', 'c_zzzzzzzz']) {
    const s = shardOf(id, 8)
    t.ok(s >= 0 && s < 8)
    t.equal(shardOf(id, 8), s)
  }
})

t.test('every name carries the namespace', async (t) => {
  const n = names('abc', 4)
  const id = 'c_12345678'
  const s = n.shardOf(id)
  t.equal(n.convSubject(id, 'm'), `abc.conv.${s}.${id}.m`)
  t.equal(n.convAllSubject(id), `abc.conv.${s}.${id}.*`)
  t.equal(n.liveConvSubject(id, 'r'), `abc.live.conv.${s}.${id}.r`)
  t.equal(n.liveConvAll(id), `abc.live.conv.${s}.${id}.*`)
  t.equal(n.convStream(3), 'abc-conv-3')
  t.match(n.userSubject('u_12345678'), /^abc\.user\.\d\.u_12345678$/)
  t.match(n.liveUserSubject('u_12345678'), /^abc\.live\.user\.\d\.u_12345678$/)
  // Under the user stream's `abc.user.>`, yet not the membership subject a user index reads.
  t.equal(n.userInvitationSubject('u_12345678'), `${n.userSubject('u_12345678')}.invitations`)
  t.equal(n.liveUserInvitationSubject('u_12345678'), `${n.liveUserSubject('u_12345678')}.invitations`)
  t.equal(n.liveUserInvitationsAll, `${n.ns}.live.user.*.*.invitations`)
  t.equal(n.liveUserNoticesAll, `${n.ns}.live.user.*.*`)
  t.equal(n.typingSubject(id), `abc.eph.typing.${id}`)
  t.equal(n.revokedSessionsSubject, 'abc.eph.revoked')
  t.equal(n.mediaJobSubject('image'), 'abc.media.jobs.image')
  t.equal(n.deadLetterSubject('projector'), 'abc.dlq.projector')
  t.equal(n.projectorConsumer(2), 'abc-projector-2')
  for (const name of [
    n.convStream(0),
    n.userStream,
    n.mediaJobStream,
    n.deadLetterStream,
    n.presenceBucket,
    n.convStateBucket,
    n.mediaWorkerConsumer,
    n.s3Bucket,
  ]) {
    t.match(name, /^abc-[a-z0-9-]+$/, 'kebab-case, no dots')
  }
  t.same(n.dbSchemas, { gateway: 'abc_gateway', views: 'abc_views', archive: 'abc_archive' })
})

t.test('refuses namespaces and shard counts that would break subjects or names', async (t) => {
  t.notOk(isValidNamespace('Abc'))
  t.notOk(isValidNamespace('a.b'))
  t.notOk(isValidNamespace(''))
  t.throws(() => names('a.b', 1))
  t.throws(() => names('abc', 0))
  t.throws(() => names('abc', 1.5))
})

t.test('parses conversation subjects, live or stored', async (t) => {
  t.same(parseConvSubject('abc.conv.3.c_12345678.m'), {
    ns: 'abc',
    shard: 3,
    conversationId: 'c_12345678',
    lane: 'm',
  })
  t.same(parseConvSubject('abc.live.conv.1.d_12345678.r'), {
    ns: 'abc',
    shard: 1,
    conversationId: 'd_12345678',
    lane: 'r',
  })
  t.equal(parseConvSubject('abc.conv.3.c_12345678.x'), undefined)
  t.equal(parseConvSubject('abc.user.3.u_12345678'), undefined)
})

t.test('stream specs: one republishing stream per shard, subjects never overlap', async (t) => {
  const n = names('abc', 3)
  const specs = streamSpecs(n)
  t.equal(specs.filter((s) => s.name.startsWith('abc-conv-')).length, 3)
  const subjects = specs.flatMap((s) => s.subjects)
  t.equal(new Set(subjects).size, subjects.length)
  for (const s of specs) {
    if (s.republish)
      t.notOk(
        s.subjects.some((x) => s.republish!.dest.startsWith(x.replace('>', ''))),
        'republish dest outside own subjects',
      )
  }
  t.equal(specs.find((s) => s.name === n.mediaJobStream)?.retention, 'workqueue')
  t.same(
    kvSpecs(n).map((k) => k.bucket),
    [n.presenceBucket, n.convStateBucket],
  )
})

t.test('every subject a name function builds is a valid NATS subject of the namespace', async (t) => {
  const n = names('nsx', 4)
  const conv = 'c_abcdefgh01'
  const user = 'u_abcdefgh'
  // Every function of the naming table, called with a conversation or user id as it expects.
  for (const [key, value] of Object.entries(n)) {
    if (typeof value !== 'function') continue
    const arg = /user|mute/i.test(key)
      ? user
      : /shard|Stream$|Consumer$|Prefix$|Subjects$/.test(key)
        ? 1
        : conv
    const out = (value as (a: unknown, b?: unknown) => unknown)(arg, 'm')
    if (typeof out !== 'string') continue
    t.notMatch(out, /\s/, `${key}: no whitespace`)
    t.ok(
      out.startsWith('nsx') || out.startsWith('$') || out.startsWith('KV_'),
      `${key}: in the namespace (${out})`,
    )
  }
  t.match(n.pushJobSubject(conv), /^nsx\.push\.jobs\.[0-3]$/, "a push job goes to its conversation's shard")
  t.match(n.muteSubject(user), new RegExp(`${user}$`))
})
