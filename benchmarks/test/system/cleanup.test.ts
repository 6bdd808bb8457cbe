import t from 'tap'
import { Cleanup } from '../../src/system/cleanup.js'

t.test('stops in reverse order, once, and goes on past a failing stop', async (t) => {
  const c = new Cleanup()
  const order: string[] = []
  const logged: string[] = []
  c.add('first', async () => void order.push('first'))
  c.add('broken', async () => {
    throw new Error('boom')
  })
  c.add('last', async () => void order.push('last'))
  await Promise.all([c.run((m) => logged.push(m)), c.run()])
  await c.run()
  t.same(order, ['last', 'first'])
  t.same(logged, ['could not stop broken: boom'])
})
