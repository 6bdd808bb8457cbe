import t from 'tap'
import { archiveThenStream } from '../../src/archive/archive-then-stream.js'

/** A shard log of sequences 1..last, of which `first`.. are still in the stream. */
const log = (last: number, first: { v: number }, trimDuringFirstRead?: number) => {
  const all = Array.from({ length: last }, (_, i) => ({ seq: i + 1 }))
  return {
    firstHot: async () => first.v,
    archive: async function* (after: number, upTo: number) {
      for (const x of all) if (x.seq > after && x.seq <= upTo && x.seq < first.v) yield x
    },
    stream: async function* (after: number, upTo: number) {
      // The stream read starts where it is asked, or at its first sequence if that is later.
      let pos = Math.max(after + 1, first.v)
      if (trimDuringFirstRead !== undefined) {
        first.v = trimDuringFirstRead
        trimDuringFirstRead = undefined
        pos = Math.max(pos, first.v)
      }
      for (const x of all) if (x.seq >= pos && x.seq <= upTo) yield x
    },
  }
}

const seqs = async (g: AsyncIterable<{ seq: number }>) => {
  const out = []
  for await (const x of g) out.push(x.seq)
  return out
}

t.test('reads the archive below the stream, then the stream, each sequence once', async (t) => {
  const l = log(10, { v: 6 })
  t.same(await seqs(archiveThenStream({ after: 0, upTo: 10, ...l })), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
  t.same(await seqs(archiveThenStream({ after: 3, upTo: 4, ...l })), [4], 'a range wholly in the archive')
  t.same(
    await seqs(archiveThenStream({ after: 7, upTo: 10, ...l })),
    [8, 9, 10],
    'a range wholly in the stream',
  )
})

t.test('a trim landing between looking up the stream start and reading it loses nothing', async (t) => {
  const l = log(10, { v: 3 }, 8)
  t.same(await seqs(archiveThenStream({ after: 0, upTo: 10, ...l })), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
})
