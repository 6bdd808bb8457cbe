import t from 'tap'
import { type CpuSnapshot, cpuBetween, ProcSampler } from '../../src/system/proc-sampler.js'
import { parseVoluntarySwitches, readThreadsWakeups } from '../../src/system/proc-stat.js'

t.test('CPU between snapshots counts only pids present in both', async (t) => {
  const a: CpuSnapshot = new Map([
    [
      'pg',
      new Map([
        [1, { cpu: 1, wait: 0.5, wakeups: 10 }],
        [2, { cpu: 5, wait: 1, wakeups: 50 }],
      ]),
    ],
  ])
  const b: CpuSnapshot = new Map([
    [
      'pg',
      new Map([
        [1, { cpu: 3, wait: 1.5, wakeups: 25 }],
        [3, { cpu: 9, wait: 9, wakeups: 90 }],
      ]),
    ],
    ['new', new Map([[4, { cpu: 1, wait: 1, wakeups: 1 }]])],
  ])
  t.same(Object.fromEntries(cpuBetween(a, b)), {
    pg: { cpu: 2, wait: 1, wakeups: 15 },
    new: { cpu: 0, wait: 0, wakeups: 0 },
  })
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

t.test('wake-ups count every time a thread of the process slept and was woken', async (t) => {
  const k0 = readThreadsWakeups(process.pid)
  // Twenty timer sleeps: the event loop's thread sleeps in epoll_wait and is woken twenty times.
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 2))
  const k1 = readThreadsWakeups(process.pid)
  t.ok(k1 - k0 >= 20, `${k1 - k0} wake-ups over 20 sleeps`)
  t.equal(readThreadsWakeups(2 ** 22 + 1), 0, 'a process that is gone has none')
  t.equal(
    parseVoluntarySwitches('Name:\tnode\nvoluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t5\n'),
    1234,
  )
  t.equal(parseVoluntarySwitches('Name:\tnode\n'), 0)
})

t.test('a snapshot carries the wake-ups of each process', async (t) => {
  const s = new ProcSampler([{ name: 'me', pids: () => [process.pid] }], 1000)
  const a = s.cpuNow()
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 2))
  const d = cpuBetween(a, s.cpuNow()).get('me')!
  t.ok(d.wakeups >= 5, `${d.wakeups} wake-ups`)
})
