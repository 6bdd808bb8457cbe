import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { WakeupCeiling } from '../core/result.js'

// From dist as built; tests running the TypeScript sources still start the built probe.
const PROBE = fileURLToPath(new URL('./wakeup-probe.js', import.meta.url)).replace(
  /\/src\/(?=ceilings\/wakeup-probe\.js$)/,
  '/dist/',
)

/** Runs the probe in one mode; resolves with the first line matching `want`. */
const run = (probe: string, args: string[], want: RegExp, boundMs: number) => {
  const child = spawn(process.execPath, [probe, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  // What it said on stderr, for the error when it gives no result (its first 2,000 characters).
  let said = ''
  child.stderr!.on('data', (d: Buffer) => {
    if (said.length < 2000) said += d.toString('utf8')
  })
  const orphanGuard = () => child.kill('SIGKILL')
  process.once('exit', orphanGuard)
  child.once('exit', () => process.off('exit', orphanGuard))
  const line = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`wake-up probe (${args[0]}) gave no result in ${boundMs} ms`))
    }, boundMs)
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = want.exec(l)
      if (m) {
        clearTimeout(timer)
        resolve(m)
      }
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      // A crash prints its stack and more after the error's own line: that line says why.
      const lines = said.trim().split('\n').filter(Boolean)
      const why = lines.find((l) => /Error/.test(l)) ?? lines.at(-1) ?? ''
      reject(
        new Error(`wake-up probe (${args[0]}) exited (${code}) without a result${why ? `: ${why}` : ''}`),
      )
    })
  })
  return { line, kill: () => child.kill('SIGKILL') }
}

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
  const echo = run(probe, ['echo'], /^listening (\d+)$/, 10_000)
  try {
    const port = (await echo.line)[1]!
    const ping = run(probe, ['ping', port, String(o.messages + 1), String(o.gapMs)], /^\{.*\}$/, boundMs)
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
