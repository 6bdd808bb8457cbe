import t from 'tap'
import { readStamp, stampText } from '../../src/core/stamp.js'

t.test('a stamped text has the wanted size and reads back', async (t) => {
  const text = stampText({ sender: 12, n: 345, sentAtUs: 6789.4 }, 100)
  t.equal(text.length, 100)
  t.same(readStamp(text), { sender: 12, n: 345, sentAtUs: 6789 })
})

t.test('a stamp longer than the size is not cut', async (t) => {
  const text = stampText({ sender: 1, n: 2, sentAtUs: 3 }, 4)
  t.same(readStamp(text), { sender: 1, n: 2, sentAtUs: 3 })
})

t.test('texts that are not stamps read as undefined', async (t) => {
  t.equal(readStamp(undefined), undefined)
  t.equal(readStamp('hello'), undefined)
  t.equal(readStamp('bm1 a b c'), undefined)
  t.equal(readStamp('bm1 1 -2 3 '), undefined)
})
