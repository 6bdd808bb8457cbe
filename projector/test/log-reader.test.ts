import t from 'tap'
import { readLog } from '../src/log-reader.js'
import { created, sent, U } from './support/events.js'
import { append } from './support/log.js'
import { viewsNamespace } from './support/views-namespace.js'

const v = await viewsNamespace(1)
const { js, jsm, n } = v
const A = 'c_readera001'
const B = 'c_readerb001'
await append(js, n, created(A))
const a1 = await append(js, n, sent(A, U.ann, 1))
await append(js, n, created(B))
const last = await append(js, n, sent(B, U.bob, 1))

const read = async (subject: string | undefined, fromSeq: number, untilSeq?: number) => {
  const seqs: number[] = []
  for await (const batch of readLog(js, jsm, {
    stream: n.convStream(0),
    ...(subject ? { subject } : {}),
    fromSeq,
    ...(untilSeq !== undefined ? { untilSeq } : {}),
    batch: 10,
  }))
    seqs.push(...batch.map((e) => e.seq))
  return seqs
}

t.test('a range read in order, whole or filtered to one conversation', async (t) => {
  t.same(await read(undefined, 1), [1, 2, 3, 4])
  t.same(await read(n.convAllSubject(A), 1), [1, a1])
  t.same(await read(n.convAllSubject(B), 1, 3), [3])
})

t.test('a filtered range with nothing in it ends at once, not after a fetch expires', async (t) => {
  const started = performance.now()
  t.same(await read(n.convAllSubject(A), a1 + 1), [], 'nothing of A after its last event')
  t.same(await read(n.convAllSubject('c_nobody0001'), 1), [], 'a conversation never written')
  t.same(await read(n.convAllSubject(B), 1, 2), [], 'B only after the range')
  // An empty fetch waits out its 1 s expiry: three of them took over 3 s.
  t.ok(performance.now() - started < 900, `${Math.round(performance.now() - started)} ms`)
  t.equal(last, 4)
})
