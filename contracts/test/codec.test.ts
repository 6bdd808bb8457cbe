import { Type } from '@sinclair/typebox'
import t from 'tap'
import {
  decodeClientFrame,
  decodeEvent,
  decoder,
  decodeServerFrame,
  encodeJson,
  gatewayRosterEntryDecoder,
  invitationNoticeDecoder,
  membershipNoticeDecoder,
  presenceAnswerDecoder,
  presenceChangeDecoder,
  presenceQueryDecoder,
  presenceValueDecoder,
  sessionRevocationDecoder,
  typingSignalDecoder,
  unstorablePath,
} from '../src/codec.js'
import { HistoryQuery, NoQuery, RegisterRequest, UploadQuery } from '../src/http.js'

const send = {
  type: 'send',
  rid: 'r1',
  conversationId: 'd_abcdef123',
  clientMsgId: 'cm_00000001',
  kind: 'text',
  text: 'hello',
}

t.test('decodes a valid send frame into its typed value', async (t) => {
  const r = decodeClientFrame(JSON.stringify(send))
  t.ok(r.ok)
  if (r.ok) t.equal(r.value.type, 'send')
})

t.test('decodes frames given as bytes', async (t) => {
  const r = decodeClientFrame(encodeJson({ type: 'ping' }))
  t.same(r, { ok: true, value: { type: 'ping' } })
  const ab = encodeJson({ type: 'ping', rid: 'x' })
  const r2 = decodeClientFrame(ab.buffer.slice(ab.byteOffset, ab.byteOffset + ab.byteLength) as ArrayBuffer)
  t.ok(r2.ok)
})

t.test('refuses malformed JSON with BAD_JSON', async (t) => {
  const r = decodeClientFrame('{"type": "send",')
  t.same(r.ok ? null : r.error.code, 'BAD_JSON')
})

t.test('refuses invalid UTF-8 bytes with BAD_JSON', async (t) => {
  const r = decodeClientFrame(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))
  t.same(r.ok ? null : r.error.code, 'BAD_JSON')
})

t.test('refuses a non-object or a frame without a type with INVALID_FRAME', async (t) => {
  for (const raw of ['[]', '42', 'null', '{"kind":"x"}', '{"type":7}']) {
    const r = decodeClientFrame(raw)
    t.equal(r.ok ? null : r.error.code, 'INVALID_FRAME', raw)
  }
})

t.test('refuses an unknown frame type with UNKNOWN_FRAME', async (t) => {
  const r = decodeClientFrame('{"type":"launch.missiles"}')
  t.equal(r.ok ? null : r.error.code, 'UNKNOWN_FRAME')
})

t.test('refuses schema violations with INVALID_FRAME and names the fields', async (t) => {
  const r = decodeClientFrame(JSON.stringify({ ...send, conversationId: 'x.y.>', extra: 1 }))
  t.notOk(r.ok)
  if (!r.ok) {
    t.equal(r.error.code, 'INVALID_FRAME')
    t.equal(r.error.retryable, false)
    t.ok(r.error.details?.some((d) => d.includes('/conversationId')))
    t.ok((r.error.details?.length ?? 0) <= 5)
  }
})

t.test('decodes a stored event and refuses an event of unknown type or version', async (t) => {
  const ev = {
    v: 1,
    type: 'receipt.read',
    id: 'e1',
    conversationId: 'c_abcdef12',
    actor: 'u_abcdef12',
    at: 1,
    data: { upTo: 5 },
  }
  t.ok(decodeEvent(JSON.stringify(ev)).ok)
  const v2 = decodeEvent(JSON.stringify({ ...ev, v: 2 }))
  t.equal(v2.ok ? null : v2.error.code, 'EVENT_INVALID')
  const unknown = decodeEvent(JSON.stringify({ ...ev, type: 'message.exploded' }))
  t.equal(unknown.ok ? null : unknown.error.code, 'EVENT_INVALID')
  const garbage = decodeEvent('not json')
  t.equal(garbage.ok ? null : garbage.error.code, 'EVENT_INVALID')
})

t.test('decodes server frames for client libraries', async (t) => {
  t.ok(decodeServerFrame(JSON.stringify({ type: 'pong', serverTime: 1 })).ok)
  const r = decodeServerFrame(JSON.stringify({ type: 'pong' }))
  t.equal(r.ok ? null : r.error.code, 'INVALID_FRAME')
})

t.test('a schema decoder reports INVALID_REQUEST with details, or BAD_JSON', async (t) => {
  const d = decoder(RegisterRequest)
  t.ok(d.decode(JSON.stringify({ username: 'alice', password: 'pw', displayName: 'A' })).ok)
  const bad = d.decode(JSON.stringify({ username: 'A!', password: '', displayName: 'A' }))
  t.equal(bad.ok ? null : bad.error.code, 'INVALID_REQUEST')
  t.ok(!bad.ok && (bad.error.details?.length ?? 0) > 0)
  const notJson = d.decode('{')
  t.equal(notJson.ok ? null : notJson.error.code, 'BAD_JSON')
  t.equal(d.check({}), false)
})

t.test('lists at most five details, and names the root when the value itself is wrong', async (t) => {
  const many = decodeClientFrame(
    JSON.stringify({
      type: 'send',
      rid: 7,
      conversationId: 1,
      clientMsgId: 2,
      kind: 'x',
      text: 3,
      mediaId: 4,
    }),
  )
  t.equal(many.ok ? 0 : many.error.details?.length, 5)
  const root = decoder(RegisterRequest).fromValue(42)
  t.ok(!root.ok && root.error.details?.some((d) => d.startsWith('/:')))
})

t.test('a refused frame keeps its rid, so the error can answer the request', async (t) => {
  const unknown = decodeClientFrame('{"type":"nonsense","rid":"r1"}')
  t.match(unknown, { ok: false, rid: 'r1', error: { code: 'UNKNOWN_FRAME' } })
  const invalid = decodeClientFrame('{"type":"send","rid":"r2","conversationId":"x"}')
  t.match(invalid, { ok: false, rid: 'r2', error: { code: 'INVALID_FRAME' } })
  const noType = decodeClientFrame('{"rid":"r3"}')
  t.match(noType, { ok: false, rid: 'r3', error: { code: 'INVALID_FRAME' } })
  t.notOk(
    'rid' in decodeClientFrame('{"type":"nonsense","rid":42}'),
    'a rid that is not a string is not echoed',
  )
  t.notOk('rid' in decodeClientFrame(`{"type":"nonsense","rid":"${'x'.repeat(65)}"}`))
})

t.test('strings the views could not store are refused in every field, with the field named', async (t) => {
  const send = {
    type: 'send',
    rid: 'r1',
    conversationId: 'c_abcdefgh',
    clientMsgId: 'cm_12345678',
    kind: 'text',
    text: 'a\u0000b',
  }
  t.match(decodeClientFrame(JSON.stringify(send)), {
    ok: false,
    rid: 'r1',
    error: { code: 'UNSUPPORTED_CHARACTER', details: ['/text: U+0000 or an unpaired surrogate'] },
  })
  t.match(decodeClientFrame(JSON.stringify({ ...send, text: 'x\ud800y' })), {
    ok: false,
    error: { code: 'UNSUPPORTED_CHARACTER' },
  })
  t.match(decodeClientFrame(JSON.stringify({ ...send, text: 'x\udc00' })), {
    ok: false,
    error: { code: 'UNSUPPORTED_CHARACTER' },
  })
  t.match(decodeClientFrame(JSON.stringify({ ...send, text: 'emoji 😀 ok' })), { ok: true })
  const create = { type: 'group.create', rid: 'r2', title: 'bad\u0000title', memberIds: [] }
  t.match(decodeClientFrame(JSON.stringify(create)), {
    ok: false,
    error: { details: ['/title: U+0000 or an unpaired surrogate'] },
  })
  t.equal(unstorablePath({ a: ['ok', { b: '\u0000' }] }), '/a/1/b')
  t.equal(unstorablePath(JSON.parse('{"k\\u0000": 1}')), '/k?')
  t.equal(unstorablePath('\u0000'), '/')
  t.equal(unstorablePath(3), undefined)
  const body = decoder(Type.Object({ name: Type.String() }), { storable: true })
  t.match(body.fromValue({ name: 'x\u0000' }), { ok: false, error: { code: 'UNSUPPORTED_CHARACTER' } })
  t.match(
    decoder(Type.Object({ name: Type.String() })).fromValue({ name: 'x\u0000' }),
    { ok: true },
    'only where asked',
  )
  t.match(
    decodeEvent(JSON.stringify({ v: 1, type: 'nonsense' })),
    { ok: false },
    'events are never refused for it: the log is what it is',
  )
})

t.test('signals from NATS are decoded with their contracts', async (t) => {
  t.match(typingSignalDecoder.decode('{"userId":"u_aaaaaaaa","active":true}'), { ok: true })
  t.match(typingSignalDecoder.decode('{"userId":"nope","active":true}'), { ok: false })
  t.match(presenceValueDecoder.decode('{"online":false,"lastSeen":5}'), { ok: true })
  t.match(presenceQueryDecoder.decode('{"users":["u_aaaaaaaa"]}'), { ok: true })
  t.match(presenceQueryDecoder.decode(JSON.stringify({ users: Array(1001).fill('u_aaaaaaaa') })), {
    ok: false,
  })
  t.match(
    presenceAnswerDecoder.decode(
      '{"gateway":"g1","seq":0,"users":{"u_aaaaaaaa":{"online":true,"lastSeen":null}}}',
    ),
    { ok: true },
  )
  t.match(
    presenceAnswerDecoder.decode('{"gateway":"g.1","seq":0,"users":{}}'),
    { ok: false },
    'not a subject token',
  )
  t.match(
    presenceChangeDecoder.decode(
      '{"gateway":"g1","seq":1,"userId":"u_aaaaaaaa","value":{"online":false,"lastSeen":3}}',
    ),
    { ok: true },
  )
  t.match(
    presenceChangeDecoder.decode(
      '{"gateway":"g1","seq":0,"userId":"u_aaaaaaaa","value":{"online":false,"lastSeen":3}}',
    ),
    { ok: false },
    'changes are numbered from 1',
  )
  t.match(gatewayRosterEntryDecoder.decode('{"seq":4,"refreshMs":20000}'), { ok: true })
  t.match(gatewayRosterEntryDecoder.decode('{"seq":4,"refreshMs":0}'), { ok: false })
  t.match(
    sessionRevocationDecoder.decode(
      '{"userId":"u_aaaaaaaa","sessionIds":["s"],"reason":"logout","origin":"g1"}',
    ),
    { ok: true },
  )
  t.match(
    sessionRevocationDecoder.decode('{"userId":"u_aaaaaaaa","sessionIds":["s"],"reason":"x","origin":"g"}'),
    {
      ok: false,
    },
  )
})

t.test('invitation notices and membership notices never pass for one another', async (t) => {
  const head = { v: 1, id: 'c_abcdefgh:7:u_aaaaaaaa', userId: 'u_aaaaaaaa', conversationId: 'c_abcdefgh' }
  const invitation = { ...head, pending: true, by: 'u_bbbbbbbb', convSeq: 7, at: 1 }
  const membership = { ...head, joined: true, convSeq: 7, at: 1 }
  t.match(invitationNoticeDecoder.fromValue(invitation), { ok: true })
  t.match(membershipNoticeDecoder.fromValue(invitation), { ok: false }, 'an old user index would skip one')
  t.match(invitationNoticeDecoder.fromValue(membership), { ok: false })
})

t.test('a query converts only canonical spellings, and refuses repeats and unknown names', async (t) => {
  const q = decoder(HistoryQuery)
  t.same(q.fromQuery('before=42&limit=7'), { ok: true, value: { before: 42, limit: 7 } })
  t.same(q.fromQuery(''), { ok: true, value: {} })
  for (const bad of ['limit=1.5', 'limit=1e2', 'limit=%207', 'limit=0x10', 'limit=', 'limit=07', 'limit=0'])
    t.match(q.fromQuery(bad), { ok: false, error: { code: 'INVALID_REQUEST', details: [/^\/limit/] } }, bad)
  t.match(q.fromQuery('limit=2&limit=3'), {
    ok: false,
    error: { code: 'INVALID_REQUEST', details: ['/limit: given more than once'] },
  })
  t.match(q.fromQuery('limit=2&page=3'), { ok: false, error: { code: 'INVALID_REQUEST' } }, 'unknown name')
  t.match(decoder(NoQuery).fromQuery('x=1'), { ok: false, error: { code: 'INVALID_REQUEST' } })
  t.match(decoder(UploadQuery).fromQuery('kind=document'), { ok: true, value: { kind: 'document' } })
  t.match(decoder(UploadQuery).fromQuery('kind=sticker'), { ok: false })
  const typed = decoder(Type.Object({ n: Type.Number(), b: Type.Boolean(), s: Type.String() }))
  t.same(typed.fromQuery('n=-1.25&b=false&s=7'), { ok: true, value: { n: -1.25, b: false, s: '7' } })
  t.match(typed.fromQuery('n=.5&b=1&s=x'), { ok: false })
  t.match(typed.fromQuery('n=0&b=true&s=x'), { ok: true, value: { n: 0, b: true } })
  t.match(decoder(Type.Unknown()).fromQuery('a=1'), { ok: true, value: { a: '1' } }, 'no properties: strings')
  t.match(decoder(HistoryQuery).fromQuery('__proto__=1'), { ok: false }, 'a prototype name is a name')
})
