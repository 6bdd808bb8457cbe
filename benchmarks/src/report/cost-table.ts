import type { StepCost } from '../core/cost.js'
import type { ComputeCeiling, PhaseResult, WakeupCeiling } from '../core/result.js'
import { fmtBytes, fmtInt, textTable } from './format.js'

const us = (x: number) => (x >= 100 ? fmtInt(x) : x.toFixed(1))

/**
 * Server CPU per unit of work (one column per server process, then the total) and the
 * nats-server's memory, consumers and subscriptions around each step: what a step cost, in
 * units that compare across rates and machines.
 */
export const renderCost = (
  phases: readonly PhaseResult[],
  wakeup?: WakeupCeiling,
  compute?: ComputeCeiling,
): string[] => {
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
  out.push(...renderWakeups(withCost, names, wakeup))
  out.push(...renderCompute(withCost, compute))
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
        'GOGC',
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
          a.goGc ?? '-',
        ]
      }),
    ),
  )
  return out
}

const perWake = (usPerUnit: number, wakeupsPerUnit: number | undefined) =>
  wakeupsPerUnit && wakeupsPerUnit > 0 ? us(usPerUnit / wakeupsPerUnit) : '-'

/**
 * Wake-ups per unit per server process, and its CPU per wake-up; then the machine's price of a
 * wake-up measured in the same run, and the total CPU per unit in that price. Where the CPU per
 * wake-up is near that price, the process's cost is waking up, not its work.
 */
const renderWakeups = (
  withCost: readonly (PhaseResult & { cost: StepCost })[],
  names: readonly string[],
  wakeup: WakeupCeiling | undefined,
): string[] => {
  // Counted, and over a window with units (stepCost gives no figure per unit otherwise).
  const counted = withCost.filter((p) => p.cost.totalWakeupsPerUnit !== undefined)
  if (counted.length === 0) return []
  const out = [
    '',
    'Wake-ups per unit (times a thread of the process slept and was woken, every thread) · CPU per wake-up (µs)',
    textTable(
      ['phase', ...names, 'total'],
      counted.map((p) => [
        p.name,
        ...names.map((n) => {
          const x = p.cost.processes.find((y) => y.name === n)
          return x?.wakeupsPerUnit !== undefined
            ? `${x.wakeupsPerUnit.toFixed(2)} · ${perWake(x.usPerUnit, x.wakeupsPerUnit)}`
            : '-'
        }),
        `${p.cost.totalWakeupsPerUnit!.toFixed(2)} · ${perWake(p.cost.totalUsPerUnit, p.cost.totalWakeupsPerUnit)}`,
      ]),
    ),
  ]
  if (wakeup) {
    out.push(
      `The machine's price of a wake-up (same run): a message between two processes that sleep ${wakeup.gapMs} ms between messages costs ${us(wakeup.usPerMessage)} µs of CPU, both sides (the woken side alone ${us(wakeup.echoUsPerMessage)} µs; ${fmtInt(wakeup.messages)} round trips).`,
    )
    for (const p of counted)
      out.push(
        `  ${p.name}: ${us(p.cost.totalUsPerUnit)} µs per ${p.cost.unit} = ${(p.cost.totalUsPerUnit / wakeup.usPerMessage).toFixed(1)} such messages' worth`,
      )
  }
  return out
}

/**
 * The compute price of the run (ceilings/compute-ceiling.ts) and each step's CPU per unit in it:
 * how fast this machine is today, so a figure reads the same on a slower box of the same kind.
 */
const renderCompute = (
  withCost: readonly (PhaseResult & { cost: StepCost })[],
  compute: ComputeCeiling | undefined,
): string[] => {
  if (!compute || compute.usPerEvent <= 0) return []
  const out = [
    `The machine's compute price (same run): decoding a stored 100-byte chat message, checking it and writing it again as an event frame costs ${compute.usPerEvent.toFixed(2)} µs of CPU on one busy core (${fmtInt(compute.events)} events).`,
  ]
  for (const p of withCost)
    if (p.cost.units > 0)
      out.push(
        `  ${p.name}: ${us(p.cost.totalUsPerUnit)} µs per ${p.cost.unit} = ${fmtInt(p.cost.totalUsPerUnit / compute.usPerEvent)} such events' worth`,
      )
  return out
}
