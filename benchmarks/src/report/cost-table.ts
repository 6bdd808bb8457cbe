import type { StepCost } from '../core/cost.js'
import type { PhaseResult } from '../core/result.js'
import { fmtBytes, fmtInt, textTable } from './format.js'

const us = (x: number) => (x >= 100 ? fmtInt(x) : x.toFixed(1))

/**
 * Server CPU per unit of work (one column per server process, then the total) and the
 * nats-server's memory, consumers and subscriptions around each step: what a step cost, in
 * units that compare across rates and machines.
 */
export const renderCost = (phases: readonly PhaseResult[]): string[] => {
  const withCost = phases.filter((p): p is PhaseResult & { cost: StepCost } => p.cost !== undefined)
  if (withCost.length === 0) return []
  const out: string[] = []
  // Processes that did nothing in every step (a PostgreSQL pool never opened) are left out.
  const names = [...new Set(withCost.flatMap((p) => p.cost.processes.map((x) => x.name)))].filter((n) =>
    withCost.some((p) => (p.cost.processes.find((x) => x.name === n)?.usPerUnit ?? 0) > 0),
  )
  out.push(
    '',
    'Server CPU per unit of work (µs), over each step’s steady state; NATS messages in and JetStream API requests per unit',
  )
  out.push(
    textTable(
      ['phase', 'unit', 'units', 'window', ...names, 'total', 'total cores', 'NATS msgs in', 'JS API'],
      withCost.map((p) => [
        p.name,
        p.cost.unit,
        fmtInt(p.cost.units),
        `${p.cost.windowS.toFixed(1)} s`,
        // No unit done in the window (a wave where nothing synced): no figure per unit.
        ...names.map((n) => {
          const x = p.cost.processes.find((y) => y.name === n)
          return x && p.cost.units > 0 ? us(x.usPerUnit) : '-'
        }),
        p.cost.units > 0 ? us(p.cost.totalUsPerUnit) : '-',
        p.cost.totalCores.toFixed(2),
        p.cost.natsPerUnit ? p.cost.natsPerUnit.inMsgs.toFixed(1) : '-',
        p.cost.natsPerUnit ? p.cost.natsPerUnit.apiRequests.toFixed(1) : '-',
      ]),
    ),
  )
  // How starved each server was: on a shared machine a process waiting for a CPU is slow, not busy.
  out.push('', 'Server cores used over the window (share of it waiting for a CPU)')
  out.push(
    textTable(
      ['phase', ...names],
      withCost.map((p) => [
        p.name,
        ...names.map((n) => {
          const x = p.cost.processes.find((y) => y.name === n)
          return x
            ? `${x.cores.toFixed(2)}${x.waited !== undefined ? ` (${Math.round(100 * x.waited)} %)` : ''}`
            : '-'
        }),
      ]),
    ),
  )
  const n = (x: number | undefined) => (x === undefined ? '-' : fmtInt(x))
  out.push('', 'nats-server around each step (before → after, peak while sampling each second)')
  out.push(
    textTable(
      [
        'phase',
        'RSS',
        'RSS peak',
        'consumers (namespace)',
        'consumers (server)',
        'subscriptions',
        'connections',
        'GOMAXPROCS',
      ],
      withCost.map((p) => {
        const { before: b, after: a, peak } = p.cost.nats
        return [
          p.name,
          `${fmtBytes(b.rssBytes)} → ${fmtBytes(a.rssBytes)}`,
          peak ? fmtBytes(peak.rssBytes) : '-',
          `${n(b.consumers.namespace)} → ${n(a.consumers.namespace)}${peak ? ` (peak ${n(peak.namespaceConsumers)})` : ''}`,
          `${n(b.consumers.server)} → ${n(a.consumers.server)}${peak ? ` (peak ${n(peak.serverConsumers)})` : ''}${a.consumers.serverScope === 'account' ? ' [account]' : ''}`,
          `${n(b.subscriptions)} → ${n(a.subscriptions)}`,
          `${n(b.connections)} → ${n(a.connections)}`,
          n(a.goMaxProcs),
        ]
      }),
    ),
  )
  return out
}
