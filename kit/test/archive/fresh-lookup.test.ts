import t from 'tap'
import { freshLookup } from '../../src/archive/fresh-lookup.js'

/** A fetch whose answers the test releases one by one; each answer is the fetch's start number. */
const gated = () => {
  const started: { key: string; release: () => void; fail: (e: Error) => void }[] = []
  let value = 0
  const fetch = (key: string) =>
    new Promise<number>((resolve, reject) => {
      const n = ++value
      started.push({ key, release: () => resolve(n), fail: reject })
    })
  return { fetch, started }
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setImmediate(r))
  if (!cond()) throw new Error('condition not reached')
}

t.test('callers during a fetch share the next one, which starts after they asked', async (t) => {
  const g = gated()
  const get = freshLookup(g.fetch)
  const a = get('s')
  await until(() => g.started.length === 1)
  // Asked while fetch 1 runs: fetch 1 may predate their call, so they must not get its answer.
  const b = get('s')
  const c = get('s')
  t.equal(g.started.length, 1, 'no second request while one is in flight')
  g.started[0]!.release()
  t.equal(await a, 1)
  await until(() => g.started.length === 2)
  g.started[1]!.release()
  t.same([await b, await c], [2, 2], 'both got the fetch that started after their call, one request for both')
  t.equal(g.started.length, 2)
})

t.test('keys are independent; an idle key fetches at once', async (t) => {
  const g = gated()
  const get = freshLookup(g.fetch)
  const a = get('x')
  const b = get('y')
  await until(() => g.started.length === 2)
  t.same(
    g.started.map((s) => s.key),
    ['x', 'y'],
  )
  for (const s of g.started) s.release()
  t.same([await a, await b], [1, 2])
  const c = get('x')
  await until(() => g.started.length === 3)
  g.started[2]!.release()
  t.equal(await c, 3, 'after the key went idle a call starts its own fetch')
})

t.test('a failed fetch fails its callers only; the next caller fetches again', async (t) => {
  const g = gated()
  const get = freshLookup(g.fetch)
  const a = get('s')
  await until(() => g.started.length === 1)
  const b = get('s')
  g.started[0]!.fail(new Error('timeout'))
  await t.rejects(a, /timeout/)
  await until(() => g.started.length === 2)
  g.started[1]!.release()
  t.equal(await b, 2, 'the waiting caller got the following fetch')
})
