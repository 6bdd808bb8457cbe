import type { PhaseResult } from '../core/result.js'
import type { TailMessage } from '../core/stall.js'
import { fmtInt } from './format.js'

const ms = (x: number) => x.toFixed(1)

const renderMessage = (phase: string, m: TailMessage): string[] => {
  const out = [`${phase} · ${ms(m.toLastMs)} ms to the last member (${m.key})`]
  for (const s of m.shares)
    out.push(
      `  load worker ${s.worker}: ${fmtInt(s.copies)} copies, first ${ms(s.firstMs)}, last ${ms(s.lastMs)} (its read batch ${ms(s.lastReadMs)})`,
    )
  const byProcess = new Map<string, string[]>()
  for (const s of m.stalls) {
    const list = byProcess.get(s.process) ?? []
    byProcess.set(s.process, list)
    list.push(`${s.what} ${ms(s.fromMs)}–${ms(s.toMs)}`)
  }
  const width = Math.max(0, ...[...byProcess.keys()].map((k) => k.length))
  for (const [p, list] of [...byProcess].sort(([a], [b]) => a.localeCompare(b)))
    out.push(`  ${p.padEnd(width)}  ${list.join(', ')}`)
  if (byProcess.size === 0) out.push('  no process recorded a stall meanwhile')
  return out
}

/** `--stalls`: each step's slowest messages, every worker's share, and what stalled meanwhile. */
export const renderTail = (phases: readonly PhaseResult[]): string[] => {
  const withTail = phases.filter((p) => p.tail && p.tail.length > 0)
  if (withTail.length === 0) return []
  const out = [
    '',
    'Slowest messages to the last member, and what stalled meanwhile (--stalls; ms after the send;',
    'block: the event loop ran nothing else, busy or waiting for a CPU; nats-server and PostgreSQL not recorded)',
  ]
  for (const p of withTail) for (const m of p.tail!) out.push(...renderMessage(p.name, m))
  return out
}
