import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parseOptions } from '../../src/core/options.js'
import type { RunResult } from '../../src/core/result.js'
import { runBenchmark } from '../../src/scenarios/run.js'

// The whole pipeline at toy size: starts gateway and projector as processes on a fresh namespace,
// runs direct pairs through @chatapp/client, writes the reports and removes everything.
t.test('a small direct run passes end to end and writes its JSON and HTML', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'bench-test-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const parsed = parseOptions(
    [
      'direct',
      '--clients',
      '4',
      '--rate',
      '8',
      '--duration',
      '2',
      '--workers',
      '1',
      '--no-ceilings',
      '--out',
      out,
    ],
    out,
  )
  if (!parsed.ok) throw new Error('options')
  const code = await runBenchmark(parsed.options)
  t.equal(code, 0)
  const files = readdirSync(out)
  t.equal(files.filter((f) => f.endsWith('.html')).length, 1)
  const json = files.find((f) => f.endsWith('.json'))!
  const r = JSON.parse(readFileSync(join(out, json), 'utf8')) as RunResult
  const p = r.phases[0]!
  t.ok(p.stored > 0, `stored ${p.stored}`)
  t.equal(p.delivered, p.stored, 'each message reached its one peer')
  t.same(p.check, { received: p.stored, duplicated: 0, outOfOrder: 0, lost: 0 })
  t.ok(p.sendToDelivered.count > 0 && p.sendToDelivered.p50 > 0)
  t.ok(r.usage.some((u) => u.name === 'gateway' && u.peakRssBytes > 0))
})
