import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { LagProbe } from '../../src/system/lag-probe.js'

const waitFor = async (check: () => boolean, timeoutMs: number) => {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

t.test('samples every projector_lag gauge at its worst shard', async (t) => {
  let scrapes = 0
  const server = createServer((_req, res) => {
    scrapes++
    res.end(
      [
        '# TYPE projector_lag_events gauge',
        `projector_lag_events{shard="0"} ${scrapes}`,
        'projector_lag_events{shard="1"} 7',
        'projector_lag_seconds{shard="0"} 0.5',
        'projector_apply_seconds_bucket{le="1"} 3',
        'other_metric 100',
      ].join('\n'),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  t.teardown(() => server.close())
  const probe = new LagProbe(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`)
  probe.start()
  await waitFor(() => scrapes >= 2, 5000)
  const r = probe.stop()
  t.same(
    r.map((l) => l.metric),
    ['projector_lag_events', 'projector_lag_seconds'],
  )
  t.equal(r[0]!.max, 7, 'the worst shard')
  t.equal(r[0]!.unit, 'events')
  t.equal(r[1]!.p99, 0.5)
  t.equal(r[1]!.unit, 's')
})

t.test('an unreachable projector gives no lag, not an error', async (t) => {
  const probe = new LagProbe('http://127.0.0.1:1/metrics')
  probe.start()
  await new Promise((r) => setTimeout(r, 100))
  t.same(probe.stop(), [])
})
