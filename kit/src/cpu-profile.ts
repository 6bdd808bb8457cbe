import { Session } from 'node:inspector/promises'

/** Longest profile one request may take. */
export const MAX_PROFILE_SECONDS = 120

let running = false

/**
 * A V8 CPU profile of this process for `seconds` (JSON, opens in Chrome DevTools or speedscope),
 * for the ops endpoint `/debug/cpu-profile?seconds=N`: what `node --cpu-prof` gives, but of a
 * chosen window of a running service — the steady state of a load test, not its start-up. One
 * at a time per process.
 */
export const cpuProfile = async (seconds: number): Promise<string> => {
  if (running) throw new Error('a profile is already being taken')
  running = true
  const session = new Session()
  session.connect()
  try {
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 500 })
    await session.post('Profiler.start')
    await new Promise((r) => setTimeout(r, Math.min(MAX_PROFILE_SECONDS, seconds) * 1000))
    const { profile } = await session.post('Profiler.stop')
    return JSON.stringify(profile)
  } finally {
    session.disconnect()
    running = false
  }
}
