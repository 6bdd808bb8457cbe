import { gunzipSync, gzipSync } from 'node:zlib'
import t from 'tap'
import {
  type ArchivableMessage,
  decodeSegment,
  encodeSegment,
  parseSegmentKey,
  segmentKey,
  segmentStartAfter,
  sha256Hex,
} from '../../src/archive/segment-format.js'

const msg = (seq: number, text = `{"n":${seq}}`): ArchivableMessage => ({
  seq,
  subject: `ns.conv.3.c_abc.${seq % 2 ? 'm' : 'r'}`,
  at: 1_700_000_000_000 + seq,
  headers: { 'Chat-Event': 'message.sent', 'Chat-Prev': String(seq - 1) },
  data: Buffer.from(text),
})

t.test('a segment round-trips: header, records, headers, payloads, text or binary', async (t) => {
  const messages = [msg(5), msg(6), { ...msg(9), data: new Uint8Array([0xff, 0xfe, 0]) }]
  const seg = encodeSegment('ns-conv-3', 3, 4, messages)
  t.match(seg.header, { fromSeq: 4, toSeq: 9, count: 3, firstAt: messages[0]!.at, lastAt: messages[2]!.at })
  const ref = parseSegmentKey(seg.key, seg.body.length)!
  t.match(ref, { shard: 3, fromSeq: 4, toSeq: 9, sha256: seg.sha256 })
  const d = decodeSegment(ref, seg.body)
  t.ok(d.ok)
  if (!d.ok) return
  t.same(
    d.messages.map((m) => [m.seq, m.subject, m.at, m.headers, Buffer.from(m.data).toString('hex')]),
    messages.map((m) => [m.seq, m.subject, m.at, m.headers, Buffer.from(m.data).toString('hex')]),
  )
  t.match(gunzipSync(seg.body).toString().split('\n')[0], /^\{"v":1,/, 'zcat shows the header line first')
})

t.test('keys list in sequence order and a listing can start after any sequence', async (t) => {
  const keys = [
    segmentKey(0, 1, 9, 'a'.repeat(64)),
    segmentKey(0, 10, 100, 'b'.repeat(64)),
    segmentKey(0, 101, 1000, 'c'.repeat(64)),
  ]
  t.same([...keys].sort(), keys)
  t.ok(
    segmentStartAfter(0, 9) > keys[0]! && segmentStartAfter(0, 9) < keys[1]!,
    'after 9: the segment holding 10',
  )
  t.ok(segmentStartAfter(0, 50) < keys[1]!, 'after 50: the segment holding 51 is the one ending at 100')
  t.equal(parseSegmentKey('segments/0000/notakey'), undefined)
  t.equal(parseSegmentKey(segmentKey(0, 10, 9, 'a'.repeat(64))), undefined, 'an inverted range is no segment')
})

t.test('decoding refuses what does not match its key or its own header, never throwing', async (t) => {
  const seg = encodeSegment('s', 0, 1, [msg(1), msg(2)])
  const ref = parseSegmentKey(seg.key, seg.body.length)!
  const flipped = Buffer.from(seg.body)
  flipped[10]! ^= 1
  t.match(decodeSegment(ref, flipped), { ok: false, kind: 'checksum' })
  const lines = gunzipSync(seg.body).toString().split('\n')
  const forged = (text: string) => {
    const body = gzipSync(text)
    const r = { ...ref, sha256: sha256Hex(body) }
    return decodeSegment(r, body)
  }
  t.match(forged(`${lines[0]}\n${lines[1]}\n`), { ok: false, kind: 'malformed', detail: /1 records/ })
  t.match(forged(`${lines[0]}\n${lines[2]}\n${lines[1]}\n`), {
    ok: false,
    kind: 'malformed',
    detail: /order/,
  })
  t.match(forged('not json\n'), { ok: false, kind: 'malformed' })
  t.match(decodeSegment({ ...ref, sha256: sha256Hex(Buffer.from('x')) }, Buffer.from('x')), {
    ok: false,
    kind: 'malformed',
    detail: /gunzip/,
  })
  t.throws(() => encodeSegment('s', 0, 1, []), /at least one/)
  t.throws(() => encodeSegment('s', 0, 5, [msg(3)]), /before the segment start/)
})
