import t from 'tap'
import type { RunResult } from '../../src/core/result.js'
import { failuresOf } from '../../src/core/result.js'
import { escapeHtml, renderHtml } from '../../src/report/html.js'
import { renderTable } from '../../src/report/table.js'

const lat = (p50: number) => ({ count: 10, p50, p95: p50 * 2, p99: p50 * 3, max: p50 * 4, mean: p50 })

const result = (lost = 0): RunResult => ({
  id: 'x',
  scenario: 'quick',
  startedAt: '2026-01-01T00:00:00.000Z',
  durationS: 10,
  machine: { cpuModel: 'cpu', cores: 2, memBytes: 1, node: 'v20', os: 'linux', loadAvgStart: 0.5 },
  commit: '0123456789abcdef',
  parameters: { rate: 100 },
  phases: [
    {
      name: 'direct',
      offeredRate: 100,
      durationS: 10,
      clients: 10,
      conversations: 5,
      sent: 1000,
      stored: 1000,
      delivered: 1000 - lost,
      deliveredPerSecond: 100,
      sendErrors: {},
      sendToSent: lat(1),
      sendToDelivered: lat(2),
      toLastMember: lat(3),
      check: { received: 1000 - lost, duplicated: 0, outOfOrder: 0, lost },
      timeline: [
        { t: 1, sent: 100, delivered: 99 },
        { t: 2, sent: 100, delivered: 101 },
      ],
      extra: { 'reconnect→synced': lat(50), 'redelivered (de-duplicated by seq)': 3 },
    },
  ],
  ceilings: {
    jetstream: { msgBytes: 300, floor: lat(0.5), maxRate: 20_000, window: 256, atMax: lat(5) },
    wsEcho: { msgBytes: 100, connections: 64, maxRate: 50_000, rtt: lat(0.2) },
  },
  usage: [{ name: 'gateway', cpuCores: 0.5, peakRssBytes: 100 * 1024 * 1024, rssBytesEnd: 1 }],
  projectionLag: [{ metric: 'projector_lag_events', p99: 3, max: 4, samples: 10, unit: 'events' }],
  notes: ['a note <b>'],
  failures: failuresOf([]),
})

t.test('the table shows latency, throughput, the ceilings as shares, cost and the verdict', async (t) => {
  const text = renderTable(result())
  t.match(text, /direct {2}send→delivered/)
  t.match(text, /reconnect→synced/)
  t.match(
    renderTable({ ...result(), phases: [{ ...result().phases[0]!, sendErrors: { RATE_LIMITED: 4 } }] }),
    /error: RATE_LIMITED\s+4/,
  )
  t.match(text, /JetStream publish, 300 B\s+20,000\s+stored sends\/s\s+100\s+0\.5 %/)
  t.match(text, /uWS echo, 100 B, ws client\s+50,000\s+delivered\/s\s+100\s+0\.2 %/)
  t.match(text, /gateway\s+0\.50\s+100\.0 MiB/)
  t.match(text, /Projection lag projector_lag_events .* p99 3 events/)
  t.match(text, /PASS/)
})

t.test('a run with a lost message fails and says so', async (t) => {
  const r = result(2)
  r.failures = failuresOf(r.phases)
  t.same(r.failures, ['direct: 2 messages lost'])
  t.match(renderTable(r), /FAIL:\n {2}direct: 2 messages lost/)
  t.same(
    failuresOf([
      {
        ...r.phases[0]!,
        check: { received: 1, duplicated: 1, outOfOrder: 2, lost: 0 },
        sendErrors: { RATE_LIMITED: 1 },
      },
      {
        ...r.phases[0]!,
        name: 'media',
        check: r.phases[0]!.check,
        errorsFail: true,
        sendErrors: { 'HTTP 404': 3 },
      },
    ]),
    [
      'direct: 1 messages duplicated',
      'direct: 2 messages out of order',
      'media: 2 messages lost',
      'media: 3 × HTTP 404',
    ],
  )
})

t.test('the HTML report is self-contained, with both charts and escaped text', async (t) => {
  const html = renderHtml(result())
  t.match(html, /<svg[^>]*>.*<rect/s)
  t.match(html, /<polyline/)
  t.notMatch(html, /<script|src="http|href="http/)
  t.match(html, /a note &#60;b&#62;/)
  t.equal(escapeHtml(`<"&'>`), '&#60;&#34;&#38;&#39;&#62;')
})

t.test(
  'the table shows server CPU per unit per process, the waits, and the nats-server around the step',
  async (t) => {
    const state = (rssBytes: number, consumers: number) => ({
      rssBytes,
      consumers: { namespace: consumers, server: consumers, serverScope: 'server' as const },
      subscriptions: 300,
      connections: 3,
    })
    const r = result()
    r.phases[0]!.cost = {
      unit: 'message',
      units: 2000,
      windowS: 8,
      window: 'sending',
      processes: [
        { name: 'gateway', usPerUnit: 320, cores: 0.08, waited: 0.55 },
        { name: 'PostgreSQL (gateway)', usPerUnit: 0, cores: 0 },
        { name: 'nats-server', usPerUnit: 235.5, cores: 0.06, waited: 1.02 },
      ],
      totalUsPerUnit: 555.5,
      totalCores: 0.14,
      nats: {
        before: state(40 * 1024 ** 2, 9),
        after: { ...state(86 * 1024 ** 2, 9), goMaxProcs: 2, goGc: '50' },
        peak: { rssBytes: 90 * 1024 ** 2, namespaceConsumers: 11, serverConsumers: 12 },
      },
      natsPerUnit: { inMsgs: 1.7, apiRequests: 0 },
    }
    const text = renderTable(r)
    t.match(text, /direct\s+message\s+2,000\s+8\.0 s\s+320\s+236\s+556\s+0\.14\s+1\.7\s+0\.0/)
    t.notMatch(text, /PostgreSQL \(gateway\)\s+-/, 'a process idle in every step is left out')
    t.match(text, /0\.08 \(55 %\)\s+0\.06 \(102 %\)/)
    t.match(
      text,
      /40\.0 MiB → 86\.0 MiB\s+90\.0 MiB\s+9 → 9 \(peak 11\)\s+9 → 9 \(peak 12\)\s+300 → 300\s+3 → 3\s+2\s+50\n/,
      'and its GOMAXPROCS and GOGC (ADR 0229)',
    )
    // No unit in the window (a storm wave where nothing synced): no figure per unit.
    r.phases[0]!.cost = { ...r.phases[0]!.cost, units: 0 }
    t.match(renderTable(r), /direct\s+message\s+0\s+8\.0 s\s+-\s+-\s+-/)
  },
)

t.test('wake-ups per unit, CPU per wake-up, and the total in the machine’s price of a wake-up', async (t) => {
  const r = result()
  r.ceilings.wakeup = { messages: 1000, gapMs: 1, usPerMessage: 80, echoUsPerMessage: 61.2 }
  const cost = {
    unit: 'message' as const,
    units: 1000,
    windowS: 1,
    window: 'sending',
    processes: [
      { name: 'gateway', usPerUnit: 370, cores: 0.37, wakeupsPerUnit: 1.4 },
      { name: 'nats-server', usPerUnit: 350, cores: 0.35, wakeupsPerUnit: 8.75 },
    ],
    totalUsPerUnit: 720,
    totalCores: 0.72,
    totalWakeupsPerUnit: 10.15,
    nats: { before: { rssBytes: 0, consumers: { namespace: 0, server: 0, serverScope: 'server' as const } } },
  }
  r.phases[0]!.cost = { ...cost, nats: { before: cost.nats.before, after: cost.nats.before } }
  const text = renderTable(r)
  t.match(text, /direct\s+1\.40 · 264\s+8\.75 · 40\.0\s+10\.15 · 70\.9/)
  t.match(text, /costs 80\.0 µs of CPU, both sides \(the woken side alone 61\.2 µs; 1,000 round trips\)/)
  t.match(text, /direct: 720 µs per message = 9\.0 such messages' worth/)
  // Counted by an older result file: no table, no line.
  delete (r.phases[0]!.cost as { totalWakeupsPerUnit?: number }).totalWakeupsPerUnit
  t.notMatch(renderTable(r), /Wake-ups per unit/)
})

t.test("the machine's compute price, and each step's CPU per unit in it", async (t) => {
  const r = result()
  r.ceilings.compute = { events: 50_000, usPerEvent: 4.4 }
  r.phases[0]!.cost = {
    unit: 'message',
    units: 1000,
    windowS: 1,
    window: 'sending',
    processes: [{ name: 'gateway', usPerUnit: 880, cores: 0.88 }],
    totalUsPerUnit: 880,
    totalCores: 0.88,
    nats: {
      before: { rssBytes: 0, consumers: { namespace: 0, server: 0, serverScope: 'server' } },
      after: { rssBytes: 0, consumers: { namespace: 0, server: 0, serverScope: 'server' } },
    },
  }
  const text = renderTable(r)
  t.match(text, /an event frame costs 4\.40 µs of CPU on one busy core \(50,000 events\)/)
  t.match(text, /direct: 880 µs per message = 200 such events' worth/)
  // An older result file has none: no line.
  delete r.ceilings.compute
  t.notMatch(renderTable(r), /compute price/)
})

t.test("--stalls: the slowest messages with each worker's share and every process's stalls", async (t) => {
  const phase = {
    ...result().phases[0]!,
    name: 'group 1×1024',
    tail: [
      {
        key: 'c|7|1',
        sentAt: 1,
        toLastMs: 68.5,
        shares: [
          { worker: 1, copies: 511, firstMs: 10.9, lastMs: 68.5, lastReadMs: 62.9 },
          { worker: 2, copies: 512, firstMs: 5, lastMs: 58, lastReadMs: 54.8 },
        ],
        stalls: [
          { process: 'load-worker-1', what: 'block', fromMs: 15, toMs: 36 },
          { process: 'gateway', what: 'block', fromMs: 9, toMs: 37 },
          { process: 'load-worker-1', what: 'gc minor', fromMs: 63, toMs: 67.3 },
        ],
      },
      { key: 'c|8|1', sentAt: 2, toLastMs: 40, shares: [], stalls: [] },
    ],
  }
  const text = renderTable({ ...result(), phases: [phase] })
  t.match(text, /Slowest messages to the last member, and what stalled meanwhile/)
  t.match(text, /group 1×1024 · 68\.5 ms to the last member \(c\|7\|1\)/)
  t.match(text, /load worker 1: 511 copies, first 10\.9, last 68\.5 \(its read batch 62\.9\)/)
  t.match(
    text,
    /\n {2}gateway {8}block 9\.0–37\.0\n {2}load-worker-1 {2}block 15\.0–36\.0, gc minor 63\.0–67\.3/,
  )
  t.match(text, /40\.0 ms to the last member \(c\|8\|1\)\n {2}no process recorded a stall meanwhile/)
  t.notMatch(renderTable(result()), /Slowest messages/, 'nothing without --stalls')
})
