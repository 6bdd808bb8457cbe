import t from 'tap'
import { TypingThrottle } from '../src/typing-throttle.js'

t.test('"typing" goes out at most once per interval per conversation', async (t) => {
  const th = new TypingThrottle(1000)
  t.ok(th.shouldSend('d_a000001', true, 0))
  t.notOk(th.shouldSend('d_a000001', true, 500))
  t.ok(th.shouldSend('d_b000001', true, 500), 'other conversations are independent')
  t.ok(th.shouldSend('d_a000001', true, 1000))
})

t.test('"stopped" goes out only after a "typing" and resets the interval', async (t) => {
  const th = new TypingThrottle(1000)
  t.notOk(th.shouldSend('d_a000001', false, 0))
  th.shouldSend('d_a000001', true, 0)
  t.ok(th.shouldSend('d_a000001', false, 10))
  t.notOk(th.shouldSend('d_a000001', false, 20))
  t.ok(th.shouldSend('d_a000001', true, 30))
  th.reset()
  t.notOk(th.shouldSend('d_a000001', false, 40))
})
