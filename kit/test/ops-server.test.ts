import t from 'tap'
import { createLogger } from '../src/logger.js'
import { startOpsServer } from '../src/ops-server.js'

const log = createLogger('test', 'silent')

t.test('answers /healthz, /readyz with each check, and /metrics', async (t) => {
  let natsUp = true
  const ops = await startOpsServer({
    service: 'svc',
    host: '127.0.0.1',
    port: 0,
    log,
    checks: {
      nats: () => natsUp,
      postgres: async () => true,
      broken: () => {
        throw new Error('boom')
      },
    },
  })
  t.teardown(() => ops.close())
  const base = `http://127.0.0.1:${ops.port}`
  const health = await fetch(`${base}/healthz`)
  t.equal(health.status, 200)
  const notReady = await fetch(`${base}/readyz`)
  t.equal(notReady.status, 503)
  t.same(((await notReady.json()) as { checks: unknown }).checks, {
    nats: 'up',
    postgres: 'up',
    broken: 'down',
  })
  const metrics = await (await fetch(`${base}/metrics`)).text()
  t.match(metrics, /process_cpu_user_seconds_total\{service="svc"\}/)
  t.equal((await fetch(`${base}/nope`)).status, 404)
  t.equal((await fetch(`${base}/readyz`, { method: 'POST' })).status, 405)
  natsUp = false
  t.equal(
    ((await (await fetch(`${base}/readyz`)).json()) as { checks: Record<string, string> }).checks.nats,
    'down',
  )
})

t.test('a draining process is not ready even when its dependencies are', async (t) => {
  const ops = await startOpsServer({
    service: 'svc',
    host: '127.0.0.1',
    port: 0,
    log,
    checks: { nats: () => true },
  })
  t.teardown(() => ops.close())
  const url = `http://127.0.0.1:${ops.port}/readyz`
  t.equal((await fetch(url)).status, 200)
  ops.setDraining()
  const r = await fetch(url)
  t.equal(r.status, 503)
  t.equal(((await r.json()) as { checks: Record<string, string> }).checks.draining, 'down')
})

t.test('a check that hangs counts as down after its timeout', async (t) => {
  const ops = await startOpsServer({
    service: 'svc',
    host: '127.0.0.1',
    port: 0,
    log,
    checks: { slow: () => new Promise<boolean>(() => {}) },
  })
  t.teardown(() => ops.close())
  const r = await fetch(`http://127.0.0.1:${ops.port}/readyz`)
  t.equal(r.status, 503)
})

t.test('takes a CPU profile of a chosen window, one at a time, and refuses a silly duration', async (t) => {
  const ops = await startOpsServer({ service: 'svc', host: '127.0.0.1', port: 0, log, checks: {} })
  t.teardown(() => ops.close())
  const base = `http://127.0.0.1:${ops.port}`
  const busy = setInterval(() => JSON.stringify(Array.from({ length: 1000 }, (_, i) => ({ i }))), 1)
  t.teardown(() => clearInterval(busy))
  // Two at once: one is taken, the other refused rather than queued.
  const both = await Promise.all([0.5, 0.5].map((s) => fetch(`${base}/debug/cpu-profile?seconds=${s}`)))
  t.same(both.map((r) => r.status).sort(), [200, 409])
  const res = both.find((r) => r.status === 200)!
  const profile = (await res.json()) as {
    nodes: unknown[]
    samples: number[]
    startTime: number
    endTime: number
  }
  t.ok(profile.nodes.length > 1 && profile.samples.length > 10, 'a V8 profile with samples')
  t.ok(profile.endTime - profile.startTime >= 400_000, 'of the requested window (µs)')
  t.equal((await fetch(`${base}/debug/cpu-profile?seconds=0`)).status, 400)
  t.equal((await fetch(`${base}/debug/cpu-profile?seconds=9999`)).status, 400)
})

t.test('an allocation profile counts what was allocated in its window, garbage included', async (t) => {
  const ops = await startOpsServer({ service: 'svc', host: '127.0.0.1', port: 0, log, checks: {} })
  t.teardown(() => ops.close())
  const base = `http://127.0.0.1:${ops.port}`
  // Garbage made while the profile runs, by a function of its own name: freed at once by minor
  // collections, so only a profile that keeps collected samples shows it.
  let made = 0
  const makeGarbage = () => {
    for (let i = 0; i < 2000; i++) made += JSON.stringify({ i, pad: 'x'.repeat(200) }).length
  }
  const timer = setInterval(makeGarbage, 5)
  t.teardown(() => clearInterval(timer))
  const res = await fetch(`${base}/debug/allocation-profile?seconds=1`)
  clearInterval(timer)
  t.equal(res.status, 200)
  interface Node {
    callFrame: { functionName: string }
    selfSize: number
    children: Node[]
  }
  const profile = (await res.json()) as { head: Node; samples: { size: number }[] }
  const bytesIn = (n: Node, name: string): number =>
    (n.callFrame.functionName === name ? n.selfSize : 0) +
    n.children.reduce((a, c) => a + bytesIn(c, name), 0)
  t.ok(made > 0 && profile.samples.length > 10, 'sampled allocations')
  t.ok(
    bytesIn(profile.head, 'makeGarbage') > 1 << 20,
    'over a MiB allocated by makeGarbage, all of it garbage',
  )
  t.equal((await fetch(`${base}/debug/allocation-profile?seconds=0`)).status, 400)
})

t.test('reports memory after a full GC: garbage is gone from heapUsed, live data is not', async (t) => {
  const ops = await startOpsServer({ service: 'svc', host: '127.0.0.1', port: 0, log, checks: {} })
  t.teardown(() => ops.close())
  const heap = async () =>
    (await (await fetch(`http://127.0.0.1:${ops.port}/debug/heap`)).json()) as {
      heapUsedBytes: number
      rssBytes: number
    }
  const before = await heap()
  // 64 MiB of garbage, unreachable once made.
  for (let i = 0; i < 64; i++) JSON.stringify(new Array(1 << 17).fill('x'))
  const afterGarbage = await heap()
  t.ok(afterGarbage.heapUsedBytes - before.heapUsedBytes < 8 * 2 ** 20, 'garbage does not count')
  // 32 MiB kept alive (arrays of 2^17 doubles: 1 MiB each, on the V8 heap).
  const kept = Array.from({ length: 32 }, (_, k) => Array.from({ length: 1 << 17 }, (_, i) => i + k + 0.5))
  const afterKept = await heap()
  t.ok(afterKept.heapUsedBytes - before.heapUsedBytes > 24 * 2 ** 20, 'live strings do')
  t.ok(kept.length === 32 && afterKept.rssBytes > 0)
})

t.test('streams a V8 heap snapshot of the process', async (t) => {
  const ops = await startOpsServer({ service: 'svc', host: '127.0.0.1', port: 0, log, checks: {} })
  t.teardown(() => ops.close())
  const snap = await fetch(`http://127.0.0.1:${ops.port}/debug/heap-snapshot`)
  t.equal(snap.status, 200)
  const text = await snap.text()
  t.match(text.slice(0, 200), /^\{"snapshot":\{"meta":/, 'a V8 heap snapshot')
  t.ok(text.length > 1_000_000, `of the whole heap: ${text.length} characters`)
})
