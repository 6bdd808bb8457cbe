import t from 'tap'
import { HELP, parseOptions } from '../../src/core/options.js'

t.test('applies the scenario defaults', async (t) => {
  const r = parseOptions(['quick'], 'out')
  if (!r.ok) throw new Error('expected ok')
  t.equal(r.options.scenario, 'quick')
  t.equal(r.options.clients, 100)
  t.equal(r.options.maxRunS, 120)
  t.equal(r.options.ceilings, true)
  const d = parseOptions(['direct'], 'out')
  t.equal(d.ok && d.options.clients, 1000)
})

t.test('takes numbers, flags and a loopback gateway URL', async (t) => {
  const r = parseOptions(
    ['ramp', '--target-p99-ms', '50', '--no-ceilings', '--gateway-url', 'http://127.0.0.1:8080/'],
    'out',
  )
  if (!r.ok) throw new Error('expected ok')
  t.equal(r.options.targetP99Ms, 50)
  t.equal(r.options.ceilings, false)
  t.equal(r.options.gatewayUrl, 'http://127.0.0.1:8080')
})

t.test('--stalls names the directory the processes record their stalls in', async (t) => {
  t.match(parseOptions(['group', '--stalls', '/tmp/s'], 'out'), { ok: true, options: { stallDir: '/tmp/s' } })
  const without = parseOptions(['group'], 'out')
  t.ok(without.ok && without.options.stallDir === undefined, 'off unless asked')
})

t.test('--profile records CPU unless --allocations asks for allocation profiles', async (t) => {
  const cpu = parseOptions(['direct', '--profile', '/tmp/p'], 'out')
  t.match(cpu, { ok: true, options: { profileDir: '/tmp/p', profileKind: 'cpu' } })
  const alloc = parseOptions(['direct', '--profile', '/tmp/p', '--allocations'], 'out')
  t.match(alloc, { ok: true, options: { profileDir: '/tmp/p', profileKind: 'allocation' } })
  t.same(parseOptions(['direct', '--allocations'], 'out'), {
    ok: false,
    error: '--allocations needs --profile DIR',
  })
})

t.test('refuses what it cannot run', async (t) => {
  t.same(parseOptions(['nope'], 'out'), { ok: false, error: 'unknown scenario "nope"' })
  t.match(parseOptions(['direct', '--clients', '1'], 'out'), { ok: false, error: /--clients=1/ })
  t.match(parseOptions(['direct', '--clients', 'many'], 'out'), { ok: false, error: /--clients/ })
  t.match(parseOptions(['direct', '--gateway-url', 'http://example.com'], 'out'), {
    ok: false,
    error: /loopback/,
  })
  t.match(parseOptions(['direct', '--gateway-url', 'not a url'], 'out'), { ok: false, error: /not a URL/ })
  t.match(parseOptions(['direct', '--bogus'], 'out'), { ok: false, error: /bogus/ })
  t.match(parseOptions(['direct', 'extra'], 'out'), { ok: false, error: /unexpected/ })
})

t.test('asks for help without a scenario or with --help', async (t) => {
  t.same(parseOptions([], 'out'), { ok: false, help: true })
  t.same(parseOptions(['quick', '-h'], 'out'), { ok: false, help: true })
  t.match(HELP, /--group-size/)
})

t.test('reconnect --storm has the issue-12 size by default, and smaller on request', async (t) => {
  const r = parseOptions(['reconnect', '--storm'], 'out')
  if (!r.ok) throw new Error('expected ok')
  t.equal(r.options.storm, true)
  t.same(
    [r.options.sessions, r.options.events, r.options.windowS, r.options.devices],
    [10_000, 1_000_000, 60, 0],
  )
  const s = parseOptions(
    ['reconnect', '--storm', '--sessions', '60', '--devices', '20', '--shared-nats'],
    'out',
  )
  if (!s.ok) throw new Error('expected ok')
  t.same([s.options.sessions, s.options.devices, s.options.sharedNats], [60, 20, true])
  const c = parseOptions(['connections'], 'out')
  t.same(c.ok && [c.options.connections, c.options.freshConnections], [15_000, 10_000])
})

t.test('--gateways: one by default, up to eight', async (t) => {
  t.match(parseOptions(['group'], 'out'), { ok: true, options: { gateways: 1 } })
  t.match(parseOptions(['group', '--gateways', '2'], 'out'), { ok: true, options: { gateways: 2 } })
  t.match(parseOptions(['group', '--gateways', '9'], 'out'), { ok: false, error: /--gateways=9/ })
  t.match(parseOptions(['group', '--gateways', '0'], 'out'), { ok: false, error: /--gateways=0/ })
  t.match(HELP, /--gateways/)
})

t.test("--nats-procs: the private nats-server's GOMAXPROCS, 0 (Go's default) by default", async (t) => {
  t.match(parseOptions(['direct'], 'out'), { ok: true, options: { natsProcs: 0 } })
  t.match(parseOptions(['direct', '--nats-procs', '2'], 'out'), { ok: true, options: { natsProcs: 2 } })
  t.match(parseOptions(['direct', '--nats-procs', '-1'], 'out'), { ok: false })
  for (const other of [['--shared-nats'], ['--gateway-url', 'http://127.0.0.1:8080']])
    t.match(parseOptions(['direct', '--nats-procs', '2', ...other], 'out'), {
      ok: false,
      error: /--nats-procs .*private nats-server/,
    })
  t.match(parseOptions(['direct', '--shared-nats'], 'out'), { ok: true }, 'the default is no choice')
  t.match(HELP, /--nats-procs/)
})
