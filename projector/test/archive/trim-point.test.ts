import t from 'tap'
import { keepForSize, trimPoint } from '../../src/archive/trim-point.js'

const base = { first: 1, archivedTo: 100, projected: 100, consumerFloors: [101] }

t.test('nothing is trimmed without a hot window', async (t) => {
  t.equal(trimPoint(base), undefined)
})

t.test('the hot window says what should go, every reader bounds what may', async (t) => {
  t.equal(
    trimPoint({ ...base, keepByAge: 50 }),
    50,
    'older than the window, archived, projected, delivered: gone',
  )
  t.equal(trimPoint({ ...base, keepByAge: 50, archivedTo: 20 }), 21, 'never past what is archived')
  t.equal(
    trimPoint({ ...base, keepByAge: 50, archivedTo: 0 }),
    undefined,
    'an archiver that never ran: nothing',
  )
  t.equal(trimPoint({ ...base, keepByAge: 50, projected: 9 }), 10, 'never past what the views applied')
  t.equal(
    trimPoint({ ...base, keepByAge: 50, consumerFloors: [101, 31] }),
    31,
    'never past what a consumer still needs',
  )
  t.equal(trimPoint({ ...base, first: 60, keepByAge: 50 }), undefined, 'never backwards')
})

t.test('age and size: the stricter limit applies', async (t) => {
  t.equal(trimPoint({ ...base, keepByAge: 30, keepBySize: 70 }), 70)
  t.equal(trimPoint({ ...base, keepByAge: 80, keepBySize: 10 }), 80)
  t.equal(keepForSize(1, 100, 10_000, 20_000), 1, 'within budget: keep all')
  t.equal(keepForSize(1, 100, 10_000, 4_000), 61, '60 messages of 100 bytes over budget')
  t.equal(keepForSize(5, 0, 0, 0), 5, 'an empty stream')
})
