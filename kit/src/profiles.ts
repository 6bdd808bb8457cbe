import { Session } from 'node:inspector/promises'

/** Longest profile one request may take. */
export const MAX_PROFILE_SECONDS = 120

let running = false

/** Runs `start`, waits `seconds`, returns what `stop` gives: one profile at a time per process. */
const profileWindow = async (
  seconds: number,
  start: (s: Session) => Promise<void>,
  stop: (s: Session) => Promise<unknown>,
): Promise<string> => {
  if (running) throw new Error('a profile is already being taken')
  running = true
  const session = new Session()
  session.connect()
  try {
    await start(session)
    await new Promise((r) => setTimeout(r, Math.min(MAX_PROFILE_SECONDS, seconds) * 1000))
    return JSON.stringify(await stop(session))
  } finally {
    session.disconnect()
    running = false
  }
}

/**
 * A V8 CPU profile of this process for `seconds` (JSON, opens in Chrome DevTools or speedscope),
 * for the ops endpoint `/debug/cpu-profile?seconds=N`: what `node --cpu-prof` gives, but of a
 * chosen window of a running service — the steady state of a load test, not its start-up.
 */
export const cpuProfile = (seconds: number): Promise<string> =>
  profileWindow(
    seconds,
    async (s) => {
      await s.post('Profiler.enable')
      await s.post('Profiler.setSamplingInterval', { interval: 500 })
      await s.post('Profiler.start')
    },
    async (s) => (await s.post('Profiler.stop')).profile,
  )

/**
 * A V8 sampling allocation profile for `seconds` (`.heapprofile` JSON, opens in Chrome DevTools'
 * Memory panel), for `/debug/allocation-profile?seconds=N`: where the process allocates, counting
 * what minor and major collections already freed. That garbage is what a profile's GC share is
 * made of, and a heap snapshot cannot show it.
 */
export const allocationProfile = (seconds: number): Promise<string> =>
  profileWindow(
    seconds,
    async (s) => {
      await s.post('HeapProfiler.enable')
      await s.post('HeapProfiler.startSampling', {
        samplingInterval: 16_384,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      })
    },
    async (s) => (await s.post('HeapProfiler.stopSampling')).profile,
  )
