import t from 'tap'
import { historyRange, MAX_HISTORY_LIMIT, toPage } from '../../src/views/history-page.js'

t.test('without a cursor a page is the newest messages, oldest first', async (t) => {
  const r = historyRange({ limit: 2 })
  t.match(r, { after: 0, before: null, direction: 'desc', read: 3 })
  t.same(toPage(r, [9, 8, 7]), { rows: [8, 9], hasMore: true })
  t.same(toPage(r, [9, 8]), { rows: [8, 9], hasMore: false })
})

t.test('after a cursor a page reads forwards and hasMore means newer ones', async (t) => {
  const r = historyRange({ after: 5, before: 20, limit: 2 })
  t.match(r, { after: 5, before: 20, direction: 'asc' })
  t.same(toPage(r, [6, 7, 8]), { rows: [6, 7], hasMore: true })
})

t.test('the limit is clamped to 1…200 and defaults to 50', async (t) => {
  t.equal(historyRange({}).limit, 50)
  t.equal(historyRange({ limit: 10_000 }).limit, MAX_HISTORY_LIMIT)
  t.equal(historyRange({ limit: 0 }).limit, 1)
})

t.test('a floor hides what came before the reader joined, whatever the cursor', async (t) => {
  t.match(historyRange({ limit: 5 }, 10), { after: 10, direction: 'desc' })
  t.match(historyRange({ after: 3 }, 10), { after: 10, direction: 'asc' })
  t.match(historyRange({ after: 30 }, 10), { after: 30 })
})
