import { ChatError } from '@chatapp/contracts'

export interface AdmissionOptions {
  /** Units of work running at once; the rest wait their turn, first come first served. */
  concurrency: number
  /** Units waiting at most; beyond it a request is refused at once with UNAVAILABLE and a `retryAfterMs`. */
  queue: number
}

export interface Admission {
  /** Runs `work` when a slot is free; `skip` (asked when its turn comes) drops it unrun, e.g. a closed socket's. */
  run<T>(work: () => Promise<T>, skip?: () => boolean): Promise<T | undefined>
  readonly inFlight: number
  readonly queued: number
}

/** Bounds of the advice given with a refusal. */
const MIN_RETRY_MS = 250
const MAX_RETRY_MS = 30_000

/**
 * Admission control for work that reads the log in bulk — a session's first `sync` reads every
 * conversation it missed (ADR 0172). Open-loop arrivals beyond what the log can answer used to
 * fill the gateway's NATS connection with reads until every one of them passed its deadline and a
 * whole reconnect storm ended in UNAVAILABLE. Here the excess waits in line instead, doing nothing
 * and holding no request, so the work admitted runs at full speed and the line drains at the
 * rate the log sustains; past the queue bound a request is refused at once, told how long the
 * line would take to reach it (from the measured time per unit), rather than after a timeout.
 */
export const createAdmission = (o: AdmissionOptions): Admission => {
  let inFlight = 0
  const line: (() => void)[] = []
  /** Smoothed duration of one unit, for the retry advice. */
  let meanMs = 100

  /** Hands free slots to the longest waiting: the slot is taken for them, so no newcomer overtakes. */
  const next = () => {
    while (inFlight < o.concurrency && line.length > 0) {
      inFlight++
      line.shift()!()
    }
  }

  return {
    async run<T>(work: () => Promise<T>, skip?: () => boolean): Promise<T | undefined> {
      if (inFlight >= o.concurrency) {
        if (line.length >= o.queue) {
          const wait = (meanMs * (line.length + 1)) / o.concurrency
          throw new ChatError('UNAVAILABLE', 'the server is busy catching devices up; retry later', {
            retryAfterMs: Math.round(Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, wait))),
          })
        }
        await new Promise<void>((resolve) => line.push(resolve))
      } else inFlight++
      try {
        if (skip?.()) return undefined
        const started = performance.now()
        const out = await work()
        meanMs = meanMs * 0.9 + (performance.now() - started) * 0.1
        return out
      } finally {
        inFlight--
        next()
      }
    },
    get inFlight() {
      return inFlight
    },
    get queued() {
      return line.length
    },
  }
}
