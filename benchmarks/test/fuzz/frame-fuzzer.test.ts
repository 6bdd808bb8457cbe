import t from 'tap'
import { createFuzzer, HOSTILE_TEXTS, prng } from '../../src/fuzz/frame-fuzzer.js'

const ctx = {
  conversationIds: ['d_a', 'g_b'],
  userIds: ['u_1', 'u_2'],
  maxFrameBytes: 65_536,
  maxTextLength: 4096,
}

t.test('the same seed sends the same frames; another seed others', async (t) => {
  const a = createFuzzer(7, ctx)
  const b = createFuzzer(7, ctx)
  const c = createFuzzer(8, ctx)
  const take = (f: ReturnType<typeof createFuzzer>) =>
    Array.from({ length: 200 }, (_, i) => {
      const x = f.next(`r${i}`)
      return typeof x.data === 'string' ? x.data : Buffer.from(x.data).toString('hex')
    })
  const [xa, xb, xc] = [take(a), take(b), take(c)]
  t.same(xa, xb)
  t.not(JSON.stringify(xa), JSON.stringify(xc))
})

t.test('every kind of hostile frame comes up, and only a rid left intact is owed an answer', async (t) => {
  const f = createFuzzer(1, ctx)
  const kinds = new Map<string, number>()
  let owedWithoutRid = 0
  let hostileTexts = 0
  let nul = 0
  for (let i = 0; i < 50_000; i++) {
    const rid = `r${i}`
    const x = f.next(rid)
    kinds.set(x.kind, (kinds.get(x.kind) ?? 0) + 1)
    if (x.rid !== undefined) {
      if (x.rid !== rid) owedWithoutRid++
      const parsed = (() => {
        try {
          return JSON.parse(String(x.data)) as { rid?: unknown }
        } catch {
          return undefined
        }
      })()
      // Tracked frames are JSON objects carrying that rid (the `__proto__` case parses too).
      if (!parsed || parsed.rid !== rid) owedWithoutRid++
    }
    if (x.kind === 'hostile-send') {
      const s = JSON.parse(String(x.data)) as { text: string }
      if (HOSTILE_TEXTS.some((h) => h.length > 0 && s.text.includes(h))) hostileTexts++
      if (s.text.includes('\u0000')) nul++
    }
    if (x.kind === 'oversize') {
      t.ok(String(x.data).length > ctx.maxFrameBytes)
      t.equal(x.closes, 1009)
    }
  }
  t.equal(owedWithoutRid, 0, 'a frame is owed an answer only if it carries the rid')
  for (const k of ['hostile-send', 'mutated', 'garbage', 'binary', 'oversize', 'untracked'])
    t.ok(kinds.get(k), k)
  t.ok(hostileTexts > 1000, 'sends carry hostile texts')
  t.ok(nul > 100, 'some of them NUL')
})

t.test('prng is uniform enough to pick among choices', async (t) => {
  const r = prng(42)
  const buckets = [0, 0, 0, 0]
  for (let i = 0; i < 40_000; i++) buckets[Math.floor(r() * 4)]!++
  for (const b of buckets) t.ok(b > 9_000 && b < 11_000)
})
