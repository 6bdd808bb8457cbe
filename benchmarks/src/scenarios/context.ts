import type { Options } from '../core/options.js'
import type { WorkerPool } from '../load/pool.js'
import type { ProgressBar } from '../report/progress-bar.js'
import type { BenchStack } from '../system/bench-stack.js'
import type { Cleanup } from '../system/cleanup.js'
import type { ProcSampler } from '../system/proc-sampler.js'

/** What every scenario gets: options, the system under test, the load workers, and ways to report. */
export interface RunContext {
  o: Options
  cleanup: Cleanup
  log: (m: string) => void
  pool: WorkerPool
  bar: ProgressBar
  sampler: ProcSampler
  stack?: BenchStack
  httpUrl: string
  wsUrl: string
  /** Makes usernames unique to this run. */
  runTag: string
  notes: string[]
}
