import { isChatError } from '@chatapp/contracts'
import t from 'tap'
import { createAdmission } from '../../src/session/admission.js'

/** Work the test finishes by hand. */
const gate = () => {
  let open!: () => void
  const done = new Promise<void>((r) => {
    open = r
  })
  return { done, open }
}
const turn = () => new Promise((r) => setImmediate(r))

t.test('runs at most `concurrency` at once, the rest first come first served', async (t) => {
  const a = createAdmission({ concurrency: 2, queue: 10 })
  const started: number[] = []
  const gates = Array.from({ length: 5 }, gate)
  const runs = gates.map((g, i) =>
    a.run(async () => {
      started.push(i)
      await g.done
      return i
    }),
  )
  await turn()
  t.same(started, [0, 1])
  t.same([a.inFlight, a.queued], [2, 3])
  gates[1]!.open()
  await turn()
  t.same(started, [0, 1, 2], 'a freed slot goes to the longest waiting')
  // A newcomer while some wait does not overtake them.
  const late = a.run(async () => {
    started.push(9)
    return 9
  })
  gates[0]!.open()
  gates[2]!.open()
  await turn()
  t.same(started, [0, 1, 2, 3, 4])
  for (const g of gates) g.open()
  t.same(await Promise.all([...runs, late]), [0, 1, 2, 3, 4, 9])
  t.same(started, [0, 1, 2, 3, 4, 9])
  t.same([a.inFlight, a.queued], [0, 0])
})

t.test('beyond the queue a request is refused at once, UNAVAILABLE with a wait to retry after', async (t) => {
  const a = createAdmission({ concurrency: 1, queue: 1 })
  const g = gate()
  const first = a.run(() => g.done)
  const second = a.run(async () => 'second')
  const err = await a.run(async () => 'third').catch((e: unknown) => e)
  t.ok(isChatError(err) && err.code === 'UNAVAILABLE', 'refused')
  t.ok(isChatError(err) && err.retryAfterMs !== undefined && err.retryAfterMs >= 250, 'with retryAfterMs')
  g.open()
  await first
  t.equal(await second, 'second', 'the queued one still ran')
})

t.test(
  'work whose requester went away meanwhile is dropped when its turn comes; a failure frees the slot',
  async (t) => {
    const a = createAdmission({ concurrency: 1, queue: 5 })
    const g = gate()
    const first = a.run(async () => {
      await g.done
      throw new Error('read failed')
    })
    let ran = false
    let closed = false
    const dropped = a.run(
      async () => {
        ran = true
      },
      () => closed,
    )
    const after = a.run(async () => 'after')
    closed = true
    g.open()
    await t.rejects(first, /read failed/)
    t.equal(await dropped, undefined)
    t.notOk(ran, 'never ran')
    t.equal(await after, 'after', 'the line went on')
    t.equal(a.inFlight, 0)
  },
)
