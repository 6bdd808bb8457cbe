import t from 'tap'
import { attachmentDisposition, parseRange } from '../../src/media/range.js'

t.test('reads one byte range, a suffix and an open end, clamped to the object', async (t) => {
  t.same(parseRange(undefined, 100), { kind: 'full' })
  t.same(parseRange('', 100), { kind: 'full' })
  t.same(parseRange('bytes=0-9', 100), { kind: 'partial', start: 0, end: 9 })
  t.same(parseRange('bytes=90-', 100), { kind: 'partial', start: 90, end: 99 })
  t.same(parseRange('bytes=90-500', 100), { kind: 'partial', start: 90, end: 99 })
  t.same(parseRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 99 })
  t.same(parseRange('bytes=-500', 100), { kind: 'partial', start: 0, end: 99 })
  t.same(parseRange('BYTES = 5 - 6', 100), { kind: 'partial', start: 5, end: 6 })
})

t.test('answers unsatisfiable ranges with 416 and ignores ones it does not understand', async (t) => {
  t.same(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=-5', 0), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=0-0', 0), { kind: 'unsatisfiable' })
  t.same(parseRange('bytes=0-1,5-6', 100), { kind: 'full' })
  t.same(parseRange('items=0-1', 100), { kind: 'full' })
  t.same(parseRange('bytes=-', 100), { kind: 'full' })
  t.same(parseRange('bytes=9-3', 100), { kind: 'full' })
})

t.test('names an attachment with an ASCII fallback and the UTF-8 name', async (t) => {
  t.equal(attachmentDisposition(null), 'attachment')
  t.equal(attachmentDisposition('a.pdf'), `attachment; filename="a.pdf"; filename*=UTF-8''a.pdf`)
  t.equal(
    attachmentDisposition('Café "x".pdf'),
    `attachment; filename="Caf_ _x_.pdf"; filename*=UTF-8''Caf%C3%A9%20%22x%22.pdf`,
  )
})
