import type { Options } from '../core/options.js'
import type { WorkerPool } from '../load/pool.js'
import type { ProgressBar } from '../report/progress-bar.js'
import type { BenchStack } from '../system/bench-stack.js'
import type { Cleanup } from '../system/cleanup.js'
import type { CostMeter } from '../system/cost-meter.js'
import type { NatsServer } from '../system/nats-server.js'
import type { ProcSampler } from '../system/proc-sampler.js'

/** What every scenario gets: options, the system under test, the load workers, and ways to report. */
export interface RunContext {
  o: Options
  cleanup: Cleanup
  log: (m: string) => void
  pool: WorkerPool
  bar: ProgressBar
  sampler: ProcSampler
  /** Server CPU per unit of work and the nats-server's state around each step. */
  cost: CostMeter
  nats?: NatsServer
  stack?: BenchStack
  httpUrl: string
  /** Every gateway's WebSocket URL (`--gateways`): the stack's gateway first. */
  wsUrls: string[]
  /** Makes usernames unique to this run. */
  runTag: string
  notes: string[]
}
