import type { ComputeCeiling } from '../core/result.js'
import { builtProbe, runProbe } from './probe-child.js'

const PROBE = builtProbe('compute-probe.js')

/**
 * What a core of this machine does per chat event when awake: the CPU to decode a stored 100-byte
 * message, check it and write it again as an `event` frame (compute-probe.ts), in a process of its
 * own. Machines of the same kind differ (a sitting's box ran the same code at half another's
 * speed): the CPU figures of a run are read against this and the wake-up price, both measured in
 * the same run, not against another day's.
 */
export const measureCompute = async (o: {
  events: number
  /** The probe's script; the built one by default (tests give another). */
  probe?: string
}): Promise<ComputeCeiling> => {
  const probe = runProbe('compute probe', o.probe ?? PROBE, [String(o.events)], /^\{.*\}$/, 30_000)
  try {
    const r = JSON.parse((await probe.line)[0]) as { events: number; usPerEvent: number }
    return { events: r.events, usPerEvent: Math.round(r.usPerEvent * 100) / 100 }
  } finally {
    probe.kill()
  }
}
