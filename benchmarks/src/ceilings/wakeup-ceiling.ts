import type { WakeupCeiling } from '../core/result.js'
import { builtProbe, runProbe } from './probe-child.js'

const PROBE = builtProbe('wakeup-probe.js')

/**
 * What one message between two processes costs this machine when both sleep between messages,
 * as the services do at a thousand messages a second (a message every millisecond or so): two
 * processes exchange `messages` round trips over loopback TCP, `gapMs` apart, and their CPU is
 * read with getrusage. On a virtual machine whose idle cores halt, waking a sleeping process is
 * most of the price (a hypervisor exit on each side), and the servers' CPU per chat message is
 * then mostly a count of such wake-ups: the cost table reports wake-ups per message beside it.
 */
export const measureWakeups = async (o: {
  messages: number
  gapMs: number
  /** The probe's script; the built one by default (tests give another). */
  probe?: string
}): Promise<WakeupCeiling> => {
  const probe = o.probe ?? PROBE
  const boundMs = 10_000 + o.messages * (o.gapMs + 5)
  const echo = runProbe('wake-up probe (echo)', probe, ['echo'], /^listening (\d+)$/, 10_000)
  try {
    const port = (await echo.line)[1]!
    const ping = runProbe(
      'wake-up probe (ping)',
      probe,
      ['ping', port, String(o.messages + 1), String(o.gapMs)],
      /^\{.*\}$/,
      boundMs,
    )
    const r = JSON.parse((await ping.line)[0]) as { pingCpuUs: number; echoCpuUs: number; messages: number }
    return {
      messages: r.messages,
      gapMs: o.gapMs,
      // Each round trip is two messages, each waking the side it reaches.
      usPerMessage: Math.round(((r.pingCpuUs + r.echoCpuUs) / (2 * r.messages)) * 10) / 10,
      echoUsPerMessage: Math.round((r.echoCpuUs / r.messages) * 10) / 10,
    }
  } finally {
    echo.kill()
  }
}
