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

t.test('runs a full GC on request and answers the memory after it; streams a heap snapshot', async (t) => {
  const ops = await startOpsServer({ service: 'svc', host: '127.0.0.1', port: 0, log, checks: {} })
  t.teardown(() => ops.close())
  const base = `http://127.0.0.1:${ops.port}`
  // Garbage only a collection frees: 64 MB of unreachable arrays.
  for (let i = 0; i < 64; i++) new Array(128 * 1024).fill(i)
  const usedBefore = process.memoryUsage().heapUsed
  const r = await fetch(`${base}/debug/gc`)
  t.equal(r.status, 200)
  const m = (await r.json()) as { rssBytes: number; heapUsedBytes: number }
  t.ok(m.rssBytes > 0, 'the resident set')
  t.ok(m.heapUsedBytes < usedBefore, `the heap shrank: ${usedBefore} → ${m.heapUsedBytes}`)
  const snap = await fetch(`${base}/debug/heap-snapshot`)
  t.equal(snap.status, 200)
  const text = await snap.text()
  t.match(text.slice(0, 200), /^\{"snapshot":\{"meta":/, 'a V8 heap snapshot')
  t.ok(text.length > 1_000_000, `of the whole heap: ${text.length} characters`)
})
