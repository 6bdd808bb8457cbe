import type { LatencySummary } from '../core/latency.js'
import type { RunResult } from '../core/result.js'
import { renderCost } from './cost-table.js'
import { fmtBytes, fmtInt, fmtMs, fmtPct, textTable } from './format.js'
import { renderTail } from './tail-table.js'

const lat = (name: string, l: LatencySummary): string[] => [
  name,
  fmtInt(l.count),
  fmtMs(l.p50),
  fmtMs(l.p95),
  fmtMs(l.p99),
  fmtMs(l.max),
]

/** The readable summary printed at the end of a run. */
export const renderTable = (r: RunResult): string => {
  const out: string[] = []
  out.push(
    `Chatapp benchmark · ${r.scenario} · ${r.startedAt} · commit ${r.commit.slice(0, 10)} · ${r.machine.cores} × ${r.machine.cpuModel} · node ${r.machine.node} · load ${r.machine.loadAvgStart.toFixed(2)}${r.machine.loadAvgEnd !== undefined ? ` → ${r.machine.loadAvgEnd.toFixed(2)}` : ''}`,
  )
  const latencyRows: string[][] = []
  for (const p of r.phases) {
    latencyRows.push(lat(`${p.name}  send→sent`, p.sendToSent))
    latencyRows.push(lat(`${p.name}  send→delivered`, p.sendToDelivered))
    if (p.toLastMember) latencyRows.push(lat(`${p.name}  send→last member`, p.toLastMember))
    for (const [k, v] of Object.entries(p.extra))
      if (typeof v === 'object') latencyRows.push(lat(`${p.name}  ${k}`, v))
  }
  const c = r.ceilings
  if (c.jetstream) {
    latencyRows.push(lat('ceiling  JetStream publish, 1 in flight', c.jetstream.floor))
    latencyRows.push(lat(`ceiling  JetStream publish, ${c.jetstream.window} in flight`, c.jetstream.atMax))
  }
  if (c.wsEcho) latencyRows.push(lat(`ceiling  uWS echo RTT, ${c.wsEcho.connections} conns`, c.wsEcho.rtt))
  // Phases without a measure (connections has no sends) leave empty rows out.
  const measured = latencyRows.filter((row) => row[1] !== '0')
  if (measured.length > 0) {
    out.push('', 'Latency (ms)')
    out.push(textTable(['', 'count', 'p50', 'p95', 'p99', 'max'], measured))
  }

  if (r.phases.length > 0) {
    out.push('', 'Throughput and correctness')
    out.push(
      textTable(
        [
          'phase',
          'clients',
          'offered/s',
          'delivered/s',
          'sent',
          'stored',
          'delivered',
          'errors',
          'lost',
          'dup',
          'reorder',
        ],
        r.phases.map((p) => [
          p.name,
          fmtInt(p.clients),
          p.offeredRate ? fmtInt(p.offeredRate) : '-',
          fmtInt(p.deliveredPerSecond),
          fmtInt(p.sent),
          fmtInt(p.stored),
          fmtInt(p.delivered),
          fmtInt(Object.values(p.sendErrors).reduce((a, b) => a + b, 0)),
          fmtInt(p.check.lost),
          fmtInt(p.check.duplicated),
          fmtInt(p.check.outOfOrder),
        ]),
      ),
    )
    const extras = r.phases.flatMap((p) => [
      ...Object.entries(p.sendErrors).map(([k, v]) => [p.name, `error: ${k}`, fmtInt(v)]),
      ...Object.entries(p.extra)
        .filter(([, v]) => typeof v !== 'object')
        .map(([k, v]) => [p.name, k, typeof v === 'number' ? fmtInt(v) : String(v)]),
    ])
    if (extras.length > 0) out.push('', textTable(['phase', 'figure', 'value'], extras))
  }

  out.push(...renderCost(r.phases, c.wakeup, c.compute))
  out.push(...renderTail(r.phases))

  if (c.jetstream || c.wsEcho) {
    out.push('', 'Against the ceilings (same run, same machine)')
    // Appends are what JetStream does for a send; frames out are what the socket layer does
    // for a delivery: each is compared with the ceiling of the part that does that work.
    const appends = Math.max(0, ...r.phases.map((p) => p.stored / Math.max(0.001, p.durationS)))
    const frames = Math.max(0, ...r.phases.map((p) => p.deliveredPerSecond))
    const rows: string[][] = []
    if (c.jetstream)
      rows.push([
        `JetStream publish, ${c.jetstream.msgBytes} B`,
        fmtInt(c.jetstream.maxRate),
        'stored sends/s',
        appends ? fmtInt(appends) : '-',
        appends ? fmtPct(appends, c.jetstream.maxRate) : 'n/a',
      ])
    if (c.wsEcho)
      rows.push([
        `uWS echo, ${c.wsEcho.msgBytes} B, ws client`,
        fmtInt(c.wsEcho.maxRate),
        'delivered/s',
        frames ? fmtInt(frames) : '-',
        frames ? fmtPct(frames, c.wsEcho.maxRate) : 'n/a',
      ])
    out.push(textTable(['ceiling', 'msgs/s', 'compared with', 'best phase', 'share'], rows))
  }

  if (r.usage.length > 0) {
    out.push('', 'Cost (CPU in cores, averaged over the run; peak resident memory)')
    out.push(
      textTable(
        ['component', 'cpu', 'peak RSS'],
        r.usage.map((u) => [u.name, u.cpuCores.toFixed(2), fmtBytes(u.peakRssBytes)]),
      ),
    )
  }
  for (const l of r.projectionLag)
    out.push(
      `Projection lag ${l.metric} (worst shard, ${l.samples} samples): p99 ${l.p99} ${l.unit}, max ${l.max} ${l.unit}`,
    )
  out.push('')
  for (const n of r.notes) out.push(`note: ${n}`)
  out.push(
    '',
    r.failures.length === 0
      ? 'PASS: nothing lost, duplicated or reordered.'
      : `FAIL:\n  ${r.failures.join('\n  ')}`,
  )
  return out.join('\n')
}
