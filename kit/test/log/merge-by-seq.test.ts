import t from 'tap'
import { mergeBySeq } from '../../src/log/merge-by-seq.js'

async function* of(seqs: number[], ended?: { done: boolean }) {
  try {
    for (const seq of seqs) yield { seq }
  } finally {
    if (ended) ended.done = true
  }
}
const all = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

t.test('merges ascending sources into one ascending sequence', async (t) => {
  const got = await all(mergeBySeq([of([1, 4, 5, 9]), of([2, 3, 10]), of([])]))
  t.same(
    got.map((x) => x.seq),
    [1, 2, 3, 4, 5, 9, 10],
  )
  t.same(await all(mergeBySeq([])), [])
})

t.test('a consumer that stops early ends every source', async (t) => {
  const a = { done: false }
  const b = { done: false }
  for await (const x of mergeBySeq([of([1, 3, 5], a), of([2, 4], b)])) if (x.seq === 2) break
  t.ok(a.done && b.done)
})
