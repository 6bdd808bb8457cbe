import t from 'tap'
import { storeWindow } from '../../src/media/store-range.js'

t.test('cuts the requested bytes out of what the store sent', async (t) => {
  t.same(storeWindow(undefined, 10, { contentLength: 10 }), { ok: true, skip: 0, take: 10 })
  t.same(storeWindow({ start: 2, end: 4 }, 10, { contentRange: 'bytes 2-4/10', contentLength: 3 }), {
    ok: true,
    skip: 0,
    take: 3,
  })
  // s3rver reads `bytes=0-0` as `bytes=0-`: the whole object comes back, one byte is announced.
  t.same(storeWindow({ start: 0, end: 0 }, 10, { contentRange: 'bytes 0-9/10', contentLength: 10 }), {
    ok: true,
    skip: 0,
    take: 1,
  })
  t.same(
    storeWindow({ start: 3, end: 5 }, 10, { contentLength: 10 }),
    { ok: true, skip: 3, take: 3 },
    'range ignored',
  )
  t.same(storeWindow(undefined, 0, { contentLength: 0 }), { ok: true, skip: 0, take: 0 })
})

t.test('refuses a reply that does not hold the announced bytes', async (t) => {
  const cases: [string, Parameters<typeof storeWindow>][] = [
    ['a narrower range', [{ start: 0, end: 5 }, 10, { contentRange: 'bytes 0-3/10', contentLength: 4 }]],
    ['another object size', [{ start: 0, end: 3 }, 10, { contentRange: 'bytes 0-3/11', contentLength: 4 }]],
    [
      'a length that disagrees with the range',
      [{ start: 0, end: 3 }, 10, { contentRange: 'bytes 0-3/10', contentLength: 9 }],
    ],
    ['a short whole object', [undefined, 10, { contentLength: 9 }]],
    ['an unreadable Content-Range', [{ start: 0, end: 3 }, 10, { contentRange: 'bytes=0-3' }]],
  ]
  for (const [label, args] of cases) t.match(storeWindow(...args), { ok: false, reason: /./ }, label)
})
