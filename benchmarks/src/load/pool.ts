import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Cleanup } from '../system/cleanup.js'
import { stallRecording } from '../system/stall-logs.js'
import type {
  EchoResult,
  FromWorker,
  MediaResult,
  MediaStep,
  Progress,
  RunStep,
  Setup,
  SplitResult,
  SplitStored,
  StepResult,
  StormWave,
  StormWaveResult,
} from './messages.js'

// Workers always run the built JavaScript (also when a test imports this file from src).
const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url)).replace(
  /\/src\/(?=load\/worker\.js$)/,
  '/dist/',
)

interface Worker {
  child: ChildProcess
  progress: Progress
  waiting: ((m: FromWorker) => void) | undefined
}

/**
 * The load generator's processes. Each gets its own setup; steps run on all at once. A worker
 * that fails or dies fails the run with its message (never a silent partial result).
 */
export class WorkerPool {
  private readonly workers: Worker[] = []

  /**
   * With `profile`, each worker writes a V8 CPU (or heap) profile of its whole life there when it
   * closes; with `stallDir`, it records its collections and event-loop blocks there (`--stalls`).
   */
  constructor(
    count: number,
    cleanup: Cleanup,
    profile?: { dir: string; kind: 'cpu' | 'allocation' },
    stallDir?: string,
  ) {
    for (let i = 0; i < count; i++) {
      const k = profile?.kind === 'allocation' ? 'heap' : 'cpu'
      const execArgv = profile
        ? [
            `--${k}-prof`,
            `--${k}-prof-dir=${profile.dir}`,
            `--${k}-prof-name=load-worker-${i + 1}.${k}profile`,
          ]
        : []
      const stalls = stallDir ? stallRecording(stallDir, `load-worker-${i + 1}`) : undefined
      const child = fork(WORKER, [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: [...execArgv, ...(stalls?.nodeArgs ?? [])],
        ...(stalls ? { env: { ...process.env, ...stalls.env } } : {}),
      })
      const w: Worker = {
        child,
        progress: { sent: 0, stored: 0, delivered: 0, errors: 0, open: 0 },
        waiting: undefined,
      }
      child.on('message', (m: FromWorker) => {
        if (m.type === 'progress') w.progress = m.progress
        else w.waiting?.(m)
      })
      child.on('exit', (code, signal) => {
        w.waiting?.({ type: 'failed', message: `load worker exited (${signal ?? code})` })
      })
      this.workers.push(w)
    }
    cleanup.add('load workers', () => this.close())
  }

  get size(): number {
    return this.workers.length
  }

  pids(): number[] {
    return this.workers.map((w) => w.child.pid ?? 0).filter((p) => p > 0 && this.workers.length > 0)
  }

  /** Sums of the workers' latest progress reports. */
  progress(): Progress {
    return this.workers.reduce(
      (a, w) => ({
        sent: a.sent + w.progress.sent,
        stored: a.stored + w.progress.stored,
        delivered: a.delivered + w.progress.delivered,
        errors: a.errors + w.progress.errors,
        open: a.open + w.progress.open,
      }),
      { sent: 0, stored: 0, delivered: 0, errors: 0, open: 0 },
    )
  }

  private ask(w: Worker, m: Parameters<ChildProcess['send']>[0], timeoutMs: number): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`load worker did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      )
      w.waiting = (r) => {
        clearTimeout(timer)
        w.waiting = undefined
        if (r.type === 'failed') reject(new Error(`load worker: ${r.message}`))
        else resolve(r)
      }
      w.child.send(m)
    })
  }

  /** One setup per worker (an empty one for workers with nothing to do is skipped). */
  async setup(setups: (Setup | undefined)[], timeoutMs: number): Promise<FromWorker[]> {
    return Promise.all(
      this.workers.map((w, i) =>
        setups[i]
          ? this.ask(w, { type: 'setup', setup: setups[i] }, timeoutMs)
          : Promise.resolve({ type: 'ready', clients: 0, conversations: 0, setupMs: 0 } as FromWorker),
      ),
    )
  }

  async echo(setups: Setup[], timeoutMs: number): Promise<EchoResult[]> {
    const r = await this.setup(setups, timeoutMs)
    return r.flatMap((m) => (m.type === 'echo' ? [m.result] : []))
  }

  /** Runs a step on the workers that have a chat load; `rates` are per worker. */
  async run(step: RunStep, rates: number[], active: boolean[]): Promise<StepResult[]> {
    const timeoutMs = step.durationMs + step.drainTimeoutMs + (step.reconnect?.offlineMs ?? 0) + 60_000
    const replies = await Promise.all(
      this.workers.map((w, i) =>
        active[i]
          ? this.ask(w, { type: 'run', step: { ...step, rate: rates[i] ?? 0 } }, timeoutMs)
          : undefined,
      ),
    )
    return replies.flatMap((m) => (m?.type === 'step' ? [m.result] : []))
  }

  /** One round of the split groups' setup (ToWorker 'split') on the workers that hold some. */
  async split(
    userIds: Record<number, string>,
    ids: Record<string, string> | undefined,
    active: boolean[],
  ): Promise<Record<string, string>> {
    const replies = await Promise.all(
      this.workers.map((w, i) =>
        active[i] ? this.ask(w, { type: 'split', userIds, ...(ids ? { ids } : {}) }, 120_000) : undefined,
      ),
    )
    return Object.assign({}, ...replies.map((m) => (m?.type === 'split' ? m.ids : {})))
  }

  /** The split groups' share of a step, from every worker that holds some (ToWorker 'settle'). */
  async settle(stored: SplitStored, drainTimeoutMs: number, active: boolean[]): Promise<SplitResult[]> {
    const replies = await Promise.all(
      this.workers.map((w, i) =>
        active[i]
          ? this.ask(w, { type: 'settle', stored, drainTimeoutMs }, drainTimeoutMs + 60_000)
          : undefined,
      ),
    )
    return replies.flatMap((m) => (m?.type === 'settle' ? [m.result] : []))
  }

  /** Runs the media load on the workers that have conversations. */
  async media(steps: (MediaStep | undefined)[], timeoutMs: number): Promise<MediaResult[]> {
    const replies = await Promise.all(
      this.workers.map((w, i) =>
        steps[i] ? this.ask(w, { type: 'media', step: steps[i] }, timeoutMs) : undefined,
      ),
    )
    return replies.flatMap((m) => (m?.type === 'media' ? [m.result] : []))
  }

  /** One wave of the reconnect storm on every worker that has storm devices. */
  async stormWave(wave: StormWave, active: boolean[], timeoutMs: number): Promise<StormWaveResult[]> {
    const replies = await Promise.all(
      this.workers.map((w, i) => (active[i] ? this.ask(w, { type: 'storm', wave }, timeoutMs) : undefined)),
    )
    return replies.flatMap((m) => (m?.type === 'storm' ? [m.result] : []))
  }

  /** Every storm device drops its connection (no close handshake). */
  async stormDrop(active: boolean[]): Promise<void> {
    await Promise.all(
      this.workers.map((w, i) => (active[i] ? this.ask(w, { type: 'storm-drop' }, 30_000) : undefined)),
    )
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const c = w.child
            if (c.exitCode !== null || c.signalCode !== null) return resolve()
            const timer = setTimeout(() => c.kill('SIGKILL'), 3000)
            c.once('exit', () => {
              clearTimeout(timer)
              resolve()
            })
            if (c.connected) c.send({ type: 'close' })
            else c.kill('SIGTERM')
          }),
      ),
    )
  }
}
