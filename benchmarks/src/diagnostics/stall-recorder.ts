import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { constants, PerformanceObserver, performance } from 'node:perf_hooks'
import { STALL_BLOCK_MIN_MS, STALL_GC_MIN_MS, STALL_TICK_MS, type StallRecord } from '../core/stall.js'

/**
 * Loaded with `--import` into every service and load worker of a `--stalls DIR` run: appends to
 * `DIR/<label>.<pid>.jsonl` each garbage collection of at least STALL_GC_MIN_MS and each stretch
 * of at least STALL_BLOCK_MIN_MS in which the event loop ran nothing else (a synchronous block,
 * or the process waiting for a CPU), with wall-clock times, so the run can lay them beside its
 * slowest messages. The collections cost nothing to watch; the blocks need a timer every
 * STALL_TICK_MS, about 200 wake-ups a second per process, which the run's CPU figures then include.
 */
const dir = process.env.BENCH_STALL_DIR
if (dir) {
  const file = join(dir, `${process.env.BENCH_STALL_LABEL ?? 'process'}.${process.pid}.jsonl`)
  mkdirSync(dir, { recursive: true })
  // Written as they happen (a few a second at most): nothing is lost when the process is killed.
  const write = (r: StallRecord) => {
    try {
      appendFileSync(file, `${JSON.stringify(r)}\n`)
    } catch {
      // a diagnostic must never take the process down
    }
  }
  const epoch = performance.timeOrigin
  // The first line says the process was recorded, so a file without stalls is not a missing one.
  write({ k: 'start', at: Math.round(Date.now() * 10) / 10, ms: 0 })
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if (e.duration >= STALL_GC_MIN_MS)
        write({
          k: 'gc',
          at: Math.round((epoch + e.startTime) * 10) / 10,
          ms: Math.round(e.duration * 10) / 10,
          kind: gcKind((e as { detail?: { kind?: number } }).detail?.kind),
        })
  }).observe({ entryTypes: ['gc'] })
  let last = performance.now()
  setInterval(() => {
    const now = performance.now()
    const blocked = now - last - STALL_TICK_MS
    if (blocked >= STALL_BLOCK_MIN_MS)
      write({ k: 'block', at: Math.round((epoch + last) * 10) / 10, ms: Math.round(blocked * 10) / 10 })
    last = now
  }, STALL_TICK_MS).unref()
}

function gcKind(kind: number | undefined): string {
  switch (kind) {
    case constants.NODE_PERFORMANCE_GC_MINOR:
      return 'minor'
    case constants.NODE_PERFORMANCE_GC_MAJOR:
      return 'major'
    case constants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return 'incremental'
    case constants.NODE_PERFORMANCE_GC_WEAKCB:
      return 'weak callbacks'
    default:
      return 'other'
  }
}
