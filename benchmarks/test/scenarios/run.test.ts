import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { runScenario } from '../support/run-scenario.js'

// The whole pipeline at toy size: starts gateway and projector as processes on a fresh namespace,
// runs direct pairs through @chatapp/client, writes the reports and removes everything.
t.test('a small direct run passes end to end and writes its JSON and HTML', async (t) => {
  const { code, r, html } = await runScenario(t, [
    'direct',
    '--clients',
    '4',
    '--rate',
    '8',
    '--duration',
    '3',
    '--workers',
    '1',
    '--no-ceilings',
  ])
  t.equal(code, 0)
  t.equal(html, 1)
  const p = r.phases[0]!
  t.ok(p.stored > 0, `stored ${p.stored}`)
  t.equal(p.delivered, p.stored, 'each message reached its one peer')
  t.same(p.check, { received: p.stored, duplicated: 0, outOfOrder: 0, lost: 0 })
  t.ok(p.sendToDelivered.count > 0 && p.sendToDelivered.p50 > 0)
  t.ok(r.usage.some((u) => u.name === 'gateway' && u.peakRssBytes > 0))
  // What the step cost the servers, per stored message, over its steady state.
  const c = p.cost!
  t.equal(c.unit, 'message')
  t.ok(c.units > 0 && c.units <= p.stored, `${c.units} messages in the window`)
  const us = (name: string) => c.processes.find((x) => x.name === name)?.usPerUnit ?? -1
  t.ok(us('gateway') > 0, `gateway ${us('gateway')} µs per message`)
  t.ok(us('nats-server') > 0, `nats-server ${us('nats-server')} µs per message`)
  t.ok(us('projector') >= 0 && us('PostgreSQL (projector)') >= 0, 'the projector and its PostgreSQL backends')
  t.notOk(
    c.processes.some((x) => x.name.startsWith('load generator')),
    'the load generator is not a server',
  )
  t.ok(c.totalUsPerUnit >= us('gateway') + us('nats-server'), `total ${c.totalUsPerUnit} µs`)
  t.ok(c.nats.before.rssBytes > 0 && c.nats.after.rssBytes > 0, 'nats-server RSS before and after')
  t.equal(c.nats.after.consumers.serverScope, 'server', 'the private nats-server answers /jsz')
  t.ok(c.nats.after.consumers.namespace >= 1, 'the projector’s durable consumers are counted')
  t.ok(c.nats.after.consumers.server <= 50, `${c.nats.after.consumers.server} consumers on the server`)
})

// One group, two workers: the members are dealt over both (core/plan.ts), the owner sends, and
// each message's last member is the later of the two workers' last copies. Two gateways, as in
// the production layout: the members are spread over both, so each fans every message out.
t.test(
  'a group split over two load workers and two gateways, after a warm-up: every copy of the measured step counted, checked and timed to its last member, the slowest beside what stalled',
  async (t) => {
    const stallDir = mkdtempSync(join(tmpdir(), 'bench-stalls-'))
    t.teardown(() => rmSync(stallDir, { recursive: true, force: true }))
    const { code, r } = await runScenario(t, [
      'group',
      '--groups',
      '1',
      '--group-size',
      '7',
      '--rate',
      '10',
      '--duration',
      '3',
      '--workers',
      '2',
      '--warmup',
      '1',
      '--gateways',
      '2',
      '--no-ceilings',
      '--stalls',
      stallDir,
    ])
    t.equal(code, 0)
    t.equal(r.phases.length, 2, 'a warm-up phase, then the measured one')
    t.match(r.phases[0]!.extra['warm-up'], /not the figure/)
    t.ok(r.phases[0]!.stored > 0, 'the warm-up sent too')
    const p = r.phases[1]!
    t.notOk('warm-up' in p.extra, 'the measured phase')
    t.ok(p.stored > 0, `stored ${p.stored}`)
    t.equal(p.extra['groups split over load workers'], '2 workers hold members of each group')
    t.equal(p.delivered, p.stored * 6, 'each message reached the six other members')
    t.equal(p.extra['expected deliveries'], p.stored * 6)
    t.same(p.check, { received: p.stored * 6, duplicated: 0, outOfOrder: 0, lost: 0 })
    t.equal(p.toLastMember?.count, p.stored, 'every message timed to its last member')
    t.ok(p.toLastMember!.p50 >= p.sendToDelivered.p50, 'the last member is no earlier than the typical one')
    t.notOk('split groups: messages some member never got' in p.extra)
    const gateways = p.cost!.processes.filter((x) => x.name.startsWith('gateway'))
    t.same(
      gateways.map((x) => x.name),
      ['gateway', 'gateway-2'],
      'both gateways are sampled as servers',
    )
    for (const g of gateways) t.ok(g.usPerUnit > 0, `${g.name}: ${g.usPerUnit} µs per message`)
    // Each gateway's fan-out histogram counts the messages it wrote to its local members.
    const fanouts = Object.entries(p.extra).filter(([k]) => k.startsWith('gateway fan-out'))
    t.ok(fanouts.length > 0, 'the fan-out of the gateways is reported')
    const counted = fanouts.reduce(
      (a, [, v]) => a + Number(/\(([\d,]+) messages/.exec(String(v))?.[1]?.replace(/,/g, '') ?? 0),
      0,
    )
    t.ok(counted >= 2 * p.stored, `${counted} fan-outs for ${p.stored} messages: both gateways fanned out`)
    // --stalls: every service and load worker was recorded, and the slowest messages are laid out.
    const recorded = readdirSync(stallDir)
      .map((f) => f.replace(/\.\d+\.jsonl$/, ''))
      .sort()
    t.same(recorded, ['gateway', 'gateway-2', 'load-worker-1', 'load-worker-2', 'projector', 'push-worker'])
    // The warm-up's messages are not all checked complete (a copy may still be on its way when
    // the measured step starts): at least one, at most five.
    const warmTail = r.phases[0]!.tail?.length ?? 0
    t.ok(warmTail >= 1 && warmTail <= 5, `the warm-up has its own (${warmTail})`)
    const tail = p.tail ?? []
    t.equal(tail.length, Math.min(5, p.stored), 'the five slowest of the measured step')
    for (const m of tail) {
      t.same(
        m.shares.map((s) => s.worker),
        [1, 2],
        'both workers hold a share',
      )
      t.equal(
        m.shares.reduce((a, s) => a + s.copies, 0),
        6,
        'the six other members',
      )
      t.equal(m.toLastMs, Math.max(...m.shares.map((s) => s.lastMs)), 'the later worker decides')
      for (const s of m.shares) t.ok(s.firstMs <= s.lastMs && s.firstMs > 0, JSON.stringify(s))
    }
    t.ok(
      tail.every((m, i) => i === 0 || m.toLastMs <= tail[i - 1]!.toLastMs),
      'slowest first',
    )
    // The histogram keeps three significant digits.
    t.ok(
      Math.abs(tail[0]!.toLastMs - p.toLastMember!.max) <= Math.max(0.2, p.toLastMember!.max / 100),
      `the slowest (${tail[0]!.toLastMs} ms) is the maximum of the figure (${p.toLastMember!.max} ms)`,
    )
  },
)
