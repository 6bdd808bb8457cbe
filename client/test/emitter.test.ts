import t from 'tap'
import { Emitter } from '../src/emitter.js'

type Events = { a: (n: number) => void; b: () => void }

t.test('calls listeners in order; once fires once; off removes', async (t) => {
  const e = new Emitter<Events>(() => {})
  const seen: string[] = []
  const l1 = (n: number) => seen.push(`l1:${n}`)
  e.on('a', l1)
  e.once('a', (n) => seen.push(`once:${n}`))
  e.emit('a', 1)
  e.emit('a', 2)
  e.off('a', l1)
  e.off('a', l1)
  e.off('b', () => {})
  e.emit('a', 3)
  e.emit('b')
  t.same(seen, ['l1:1', 'once:1', 'l1:2'])
  t.equal(e.listenerCount('a'), 0)
})

t.test('a throwing listener does not stop the others and is reported', async (t) => {
  const errors: unknown[] = []
  const e = new Emitter<Events>((err, event) => errors.push([event, (err as Error).message]))
  let reached = false
  e.on('b', () => {
    throw new Error('boom')
  })
  e.on('b', () => {
    reached = true
  })
  e.emit('b')
  t.ok(reached)
  t.same(errors, [['b', 'boom']])
})

t.test('listeners added during an emit wait for the next one', async (t) => {
  const e = new Emitter<Events>(() => {})
  let late = 0
  e.on('b', () => e.on('b', () => late++))
  e.emit('b')
  t.equal(late, 0)
  e.emit('b')
  t.equal(late, 1)
})
