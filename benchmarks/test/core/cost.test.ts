import t from 'tap'
import { type CostInput, type NatsState, natsRssGrowth, peakOf, stepCost } from '../../src/core/cost.js'

const nats = (rssBytes: number, namespace: number, server: number): NatsState => ({
  rssBytes,
  consumers: { namespace, server, serverScope: 'server' },
})

/** A one-process step with nothing counted but its CPU, and what a test changes. */
const step = (o: Partial<CostInput>) =>
  stepCost({
    unit: 'message',
    units: 10,
    windowS: 1,
    window: 'w',
    cpuSeconds: new Map([['gateway', 1]]),
    isServer: () => true,
    before: nats(0, 0, 0),
    after: nats(0, 0, 0),
    ...o,
  })

t.test('CPU per unit per server process and in total; the load generator is not a server', async (t) => {
  const c = stepCost({
    unit: 'message',
    units: 2000,
    windowS: 4,
    window: 'sending',
    cpuSeconds: new Map([
      ['gateway', 0.8],
      ['nats-server', 0.4],
      ['PostgreSQL (projector)', 0],
      ['load generator (2 procs)', 1.2],
    ]),
    isServer: (n) => !n.startsWith('load'),
    before: nats(10, 9, 9),
    after: nats(30, 9, 12),
  })
  t.same(
    c.processes.map((p) => [p.name, p.usPerUnit, p.cores]),
    [
      ['gateway', 400, 0.2],
      ['nats-server', 200, 0.1],
      ['PostgreSQL (projector)', 0, 0],
    ],
  )
  t.equal(c.totalUsPerUnit, 600, '0.8 s + 0.4 s over 2,000 messages')
  t.equal(c.totalCores, 0.3)
  t.equal(natsRssGrowth(c), 20)
  t.notOk('peak' in c.nats, 'no peak when none was sampled')
})

t.test('wake-ups per unit per server process and in total', async (t) => {
  const c = stepCost({
    unit: 'message',
    units: 1000,
    windowS: 1,
    window: 'sending',
    cpuSeconds: new Map([
      ['gateway', 0.3],
      ['nats-server', 0.2],
      ['load generator (2 procs)', 0.2],
    ]),
    wakeups: new Map([
      ['gateway', 1400],
      ['nats-server', 8700],
      ['load generator (2 procs)', 5000],
    ]),
    isServer: (n) => !n.startsWith('load'),
    before: nats(0, 0, 0),
    after: nats(0, 0, 0),
  })
  t.same(
    c.processes.map((p) => [p.name, p.wakeupsPerUnit]),
    [
      ['gateway', 1.4],
      ['nats-server', 8.7],
    ],
  )
  t.equal(c.totalWakeupsPerUnit, 10.1, 'servers only')
  const none = step({})
  t.notOk('totalWakeupsPerUnit' in none, 'not counted: no figure')
  t.notOk('wakeupsPerUnit' in none.processes[0]!)
})

t.test('no units means no per-unit figure rather than a division by zero', async (t) => {
  const c = step({ unit: 'session', units: 0, windowS: 0 })
  t.equal(c.totalUsPerUnit, 0)
  t.equal(c.processes[0]!.usPerUnit, 0)
})

t.test('the peak keeps the highest memory and consumer counts seen', async (t) => {
  let p = peakOf(undefined, nats(100, 9, 20))
  p = peakOf(p, nats(50, 12, 10))
  t.same(p, { rssBytes: 100, namespaceConsumers: 12, serverConsumers: 20 })
})
