import t from 'tap'
import { runScenario } from '../support/run-scenario.js'

// The short version of `npm run bench -- reconnect --storm` (10,000 sessions on ≥ 1 M events).
t.test(
  'reconnect --storm: every device syncs what it missed, on a cold gateway and again after all drop; consumers stay per process',
  async (t) => {
    const sessions = 60
    const missed = 3
    const { code, r } = await runScenario(t, [
      'reconnect',
      '--storm',
      '--sessions',
      String(sessions),
      '--events',
      '6000',
      '--window',
      '2',
      '--missed',
      String(missed),
      '--no-ceilings',
    ])
    t.equal(code, 0, 'the run passes')
    t.same(
      r.phases.map((p) => p.name),
      ['storm: first sync, cold gateway', 'storm: reconnect'],
    )
    for (const p of r.phases) {
      const x = p.extra as Record<string, number | { count: number; p99: number }>
      const h = x['hello→synced'] as { count: number; p50: number; p99: number }
      t.equal(h.count, sessions, `${p.name}: every session synced`)
      t.ok(h.p50 > 0 && h.p99 >= h.p50, `${p.name}: hello→synced p99 ${h.p99} ms`)
      t.equal(p.check.lost, 0, 'nothing missed')
      t.equal(x['messages the syncs brought'], sessions * 2 * missed, 'each device got what it missed')
      t.ok((x['JetStream consumers after (server)'] as number) <= 50, 'consumers after the wave ≤ 50')
      t.ok((x['nats-server RSS after (bytes)'] as number) > 0)
      t.type(x['nats-server RSS growth, peak − before (bytes)'], 'number')
      const c = p.cost!
      t.equal(c.unit, 'session')
      t.equal(c.units, sessions)
      t.ok((c.processes.find((y) => y.name === 'gateway')?.usPerUnit ?? 0) > 0, 'gateway CPU per session')
      t.ok(c.nats.peak !== undefined, 'the nats-server was sampled during the wave')
    }
    const seeded = r.phases[0]!.extra as Record<string, number>
    t.ok(seeded['events seeded']! >= 6000, `${seeded['events seeded']} events seeded`)
    t.ok(seeded['seeding events per second']! > 0)
  },
)
