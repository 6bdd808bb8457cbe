import t from 'tap'
import { GroupCommit } from '../src/group-commit.js'

t.test('what is submitted in one turn goes to one run; what comes during a run, to the next', async (t) => {
  const runs: number[][] = []
  let release: (() => void) | undefined
  const g = new GroupCommit<number, number>(async (items) => {
    runs.push(items)
    if (items.includes(1)) await new Promise<void>((r) => (release = r))
    return items.map((x) => x * 10)
  })
  const first = [1, 2, 3].map((x) => g.submit(x))
  // The first run starts after this turn and waits on `release`; these arrive while it runs.
  await new Promise((r) => setImmediate(r))
  t.same(runs, [[1, 2, 3]])
  const second = [4, 5].map((x) => g.submit(x))
  await new Promise((r) => setImmediate(r))
  t.same(runs, [[1, 2, 3]], 'one run at a time')
  release!()
  t.same(await Promise.all(first), [10, 20, 30], 'each item gets its own answer')
  t.same(await Promise.all(second), [40, 50])
  t.same(runs, [
    [1, 2, 3],
    [4, 5],
  ])
})

t.test('a run that throws rejects its own items only; the next run goes on', async (t) => {
  const g = new GroupCommit<string, string>(async (items) => {
    if (items.includes('bad')) throw new Error('refused')
    return items.map((x) => x.toUpperCase())
  })
  const failed = ['a', 'bad'].map((x) => g.submit(x))
  for (const p of failed) await t.rejects(p, /refused/)
  t.same(await Promise.all(['c', 'd'].map((x) => g.submit(x))), ['C', 'D'])
})
