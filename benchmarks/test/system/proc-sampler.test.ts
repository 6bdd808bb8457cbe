import t from 'tap'
import { type CpuSnapshot, cpuBetween, ProcSampler } from '../../src/system/proc-sampler.js'

t.test('CPU between snapshots counts only pids present in both', async (t) => {
  const a: CpuSnapshot = new Map([
    [
      'pg',
      new Map([
        [1, { cpu: 1, wait: 0.5 }],
        [2, { cpu: 5, wait: 1 }],
      ]),
    ],
  ])
  const b: CpuSnapshot = new Map([
    [
      'pg',
      new Map([
        [1, { cpu: 3, wait: 1.5 }],
        [3, { cpu: 9, wait: 9 }],
      ]),
    ],
    ['new', new Map([[4, { cpu: 1, wait: 1 }]])],
  ])
  t.same(Object.fromEntries(cpuBetween(a, b)), { pg: { cpu: 2, wait: 1 }, new: { cpu: 0, wait: 0 } })
})

t.test('samples a busy process: CPU in cores and a peak resident set', async (t) => {
  const s = new ProcSampler([{ name: 'me', pids: () => [process.pid] }], 20)
  s.start()
  const end = performance.now() + 200
  while (performance.now() < end) Math.sqrt(Math.random())
  const [me] = s.stop()
  t.ok(me!.cpuCores > 0.1, `cpu ${me!.cpuCores}`)
  t.ok(me!.peakRssBytes > 0 && s.rssNow('me') > 0 && s.rssNow('absent') === 0)
})
