import type { StepCost } from './cost.js'
import type { LatencySummary } from './latency.js'
import type { CheckCounts } from './sequence-checker.js'
import type { TailMessage } from './stall.js'

/** The JSON written per run under benchmarks/results/: everything the table and HTML are drawn from. */

export interface Machine {
  cpuModel: string
  cores: number
  memBytes: number
  node: string
  os: string
  /** 1-minute load average at the start: the machine may be shared, and this says how busy it was. */
  loadAvgStart: number
  /** The same at the end of the run. */
  loadAvgEnd?: number
}

/** Per-second counts of one phase, for the throughput chart. */
export interface TimelinePoint {
  t: number
  sent: number
  delivered: number
}

export interface PhaseResult {
  name: string
  /** Messages per second the senders were told to offer (0 = not rate-driven). */
  offeredRate: number
  durationS: number
  clients: number
  conversations: number
  sent: number
  stored: number
  delivered: number
  /** Delivered messages per second over the sending window. */
  deliveredPerSecond: number
  sendErrors: Record<string, number>
  sendToSent: LatencySummary
  sendToDelivered: LatencySummary
  /** Groups: time until the last member of the group has the message. */
  toLastMember?: LatencySummary
  check: CheckCounts
  timeline: TimelinePoint[]
  /** Server CPU per unit of work over the step's steady state, and the nats-server around it. */
  cost?: StepCost
  /** Every error fails the run (media: a failed upload is a message the recipient never gets). */
  errorsFail?: boolean
  /** `--stalls`, split groups: the slowest messages to the last member, and what stalled meanwhile. */
  tail?: TailMessage[]
  /** Scenario-specific figures (resync time, bytes per connection, media time to ready …). */
  extra: Record<string, number | string | LatencySummary>
}

export interface JetStreamCeiling {
  msgBytes: number
  /** One publish at a time: the latency floor of a stored append. */
  floor: LatencySummary
  /** As many as a window of in-flight publishes allows. */
  maxRate: number
  window: number
  atMax: LatencySummary
}

export interface EchoCeiling {
  msgBytes: number
  connections: number
  maxRate: number
  rtt: LatencySummary
}

/**
 * The price of a wake-up on this machine (ceilings/wakeup-ceiling.ts): CPU per message between two
 * processes that sleep between messages, both sides counted, and the answering side's alone.
 */
export interface WakeupCeiling {
  messages: number
  gapMs: number
  usPerMessage: number
  echoUsPerMessage: number
}

/**
 * What a core of this machine does per chat event when awake (ceilings/compute-ceiling.ts): CPU
 * to decode a stored 100-byte message, check it and write it again as an `event` frame.
 */
export interface ComputeCeiling {
  events: number
  usPerEvent: number
}

export interface Ceilings {
  jetstream?: JetStreamCeiling
  wsEcho?: EchoCeiling
  /** Measured in every run that reports CPU (about two seconds), --no-ceilings or not. */
  wakeup?: WakeupCeiling
  /** Measured with the wake-up price (well under a second). */
  compute?: ComputeCeiling
}

export interface ComponentUsageResult {
  name: string
  cpuCores: number
  peakRssBytes: number
  rssBytesEnd: number
}

export interface LagResult {
  metric: string
  p99: number
  max: number
  samples: number
  unit: string
}

export interface RunResult {
  id: string
  scenario: string
  startedAt: string
  durationS: number
  machine: Machine
  commit: string
  parameters: Record<string, unknown>
  phases: PhaseResult[]
  ceilings: Ceilings
  usage: ComponentUsageResult[]
  /** Sampled once a second from the projector's metrics during the measured phases. */
  projectionLag: LagResult[]
  notes: string[]
  failures: string[]
}

/** The run fails on any lost, duplicated or reordered message: a fast system that drops messages is not fast. */
export const failuresOf = (phases: readonly PhaseResult[]): string[] => {
  const out: string[] = []
  for (const p of phases) {
    const { lost, duplicated, outOfOrder } = p.check
    if (lost > 0) out.push(`${p.name}: ${lost} messages lost`)
    if (duplicated > 0) out.push(`${p.name}: ${duplicated} messages duplicated`)
    if (outOfOrder > 0) out.push(`${p.name}: ${outOfOrder} messages out of order`)
    // Media that never became ready is a lost message too, as far as the recipient can tell.
    if (p.errorsFail)
      for (const [k, v] of Object.entries(p.sendErrors)) if (v > 0) out.push(`${p.name}: ${v} × ${k}`)
  }
  return out
}
