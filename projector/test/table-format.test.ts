import t from 'tap'
import { formatAge, progressLine, renderTable } from '../src/table-format.js'

t.test('a table aligns columns, upper-cases headers and shows missing cells as -', async (t) => {
  t.equal(
    renderTable(
      ['seq', 'type'],
      [
        [1, 'message.sent'],
        [12, null],
      ],
    ),
    'SEQ  TYPE\n1    message.sent\n12   -',
  )
})

t.test('a progress line shows the fraction, counts and rate', async (t) => {
  t.equal(progressLine(50, 100, 1234.4, 10), '[#####.....] 50.0% 50/100 events, 1234 events/s')
  t.match(progressLine(0, 0, 0, 4), /^\[####\] 100\.0%/)
})

t.test('ages read in seconds, minutes or hours', async (t) => {
  t.equal(formatAge(0), '-')
  t.equal(formatAge(1.25), '1.3s')
  t.equal(formatAge(90), '1.5m')
  t.equal(formatAge(7200), '2.0h')
})
