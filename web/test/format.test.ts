import t from 'tap'
import { bytes, clock, dayKey, dayLabel, duration, mentions } from '../src/format.js'

const at = (y: number, m: number, d: number, h = 12, min = 0) => new Date(y, m - 1, d, h, min).getTime()

t.test('labels days as Today, Yesterday, then by date', async (t) => {
  const now = at(2026, 12, 3, 15)
  t.equal(dayLabel(at(2026, 12, 3, 0, 5), now), 'Today')
  t.equal(dayLabel(at(2026, 12, 2, 23, 59), now), 'Yesterday')
  t.notMatch(dayLabel(at(2026, 11, 20), now), /Today|Yesterday/)
  t.equal(dayKey(at(2026, 12, 3, 0, 1)), dayKey(at(2026, 12, 3, 23, 59)), 'one day, one group')
  t.not(dayKey(at(2026, 12, 3, 23, 59)), dayKey(at(2026, 12, 4, 0, 0)))
  t.equal(clock(at(2026, 12, 3, 9, 5)), '09:05')
})

t.test('formats sizes and durations the way a chat shows them', async (t) => {
  t.equal(bytes(512), '512 B')
  t.equal(bytes(482_113), '471 KB')
  t.equal(bytes(4.3 * 1024 * 1024), '4.3 MB')
  t.equal(duration(7_400), '0:07')
  t.equal(duration(761_000), '12:41')
})

t.test('finds @mentions of a username as a whole word only', async (t) => {
  t.ok(mentions('photos, @carol', 'carol'))
  t.ok(mentions('@Carol look', 'carol'), 'case-insensitive')
  t.ok(mentions('hi @j.doe!', 'j.doe'))
  t.notOk(mentions('@carolyn look', 'carol'), 'not a prefix of another name')
  t.notOk(mentions('mail carol@example.com', 'carol'), 'not inside an address')
  t.notOk(mentions('@jxdoe', 'j.doe'), 'a dot is a dot')
  t.notOk(mentions(undefined, 'carol'))
  t.notOk(mentions('@carol', undefined))
})
