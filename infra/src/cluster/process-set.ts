import { readFileSync } from 'node:fs'
import { type Child, exited, killChild, spawnChild, stopChild } from '../child.js'

export type ProcessKind = 'nats' | 'gateway' | 'projector' | 'media-worker' | 'push-worker' | 'haproxy'

/** How to run one process of a cluster, again and again on the same ports and data. */
export interface ProcessDef {
  name: string
  kind: ProcessKind
  ports: Record<string, number>
  urls: Record<string, string>
  command: string
  args: string[]
  env: NodeJS.ProcessEnv
  cwd?: string
  logFile: string
  /** True once the process serves (nats: /healthz, a service: /readyz, haproxy: its port). */
  ready(): Promise<boolean>
  readyTimeoutMs: number
  /** SIGTERM to exit, at most (then SIGKILL). */
  graceMs: number
  /**
   * Lines a not-ready error leaves out of the log tail it quotes (counted, the last one kept): a
   * nats-server that is not healthy repeats its health check's failure four times a second, and
   * a CI run's error quoted nothing else ("nats-2 not ready after 60000 ms").
   */
  logNoise?: RegExp
}

/** One process of a running cluster. `pid` and `running` follow kills and restarts. */
export interface ClusterProcess {
  readonly name: string
  readonly kind: ProcessKind
  /** The current process id; undefined while it is down. */
  readonly pid: number | undefined
  readonly running: boolean
  /** nats: client, cluster, monitor; gateway: http, ops; projector, media-worker and push-worker: ops; haproxy: http. */
  readonly ports: Readonly<Record<string, number>>
  readonly urls: Readonly<Record<string, string>>
  /** stdout and stderr of every run of it, appended. */
  readonly logFile: string
}

export interface ProcessSetHooks {
  onLine?: (name: string, line: string) => void
  /**
   * A process that had been ready exited without being asked to (not kill9, restart or stop). One
   * that exits while it starts is not reported here: `start` rejects with its last words.
   */
  onExit?: (name: string, code: number | null, signal: NodeJS.Signals | null) => void
}

class Entry implements ClusterProcess {
  child: Child | undefined
  /** Set while the set itself is ending the process, so its exit is not reported as a crash. */
  expected = false
  /**
   * The child that has served: only its exit is a crash. A node that loses its port to another
   * process while it starts exits, and the cluster starts its nodes again on other ports; that
   * exit was reported as a crash too, and failed a CI run whose cluster then worked.
   */
  served: Child | undefined
  constructor(readonly def: ProcessDef) {}
  get name() {
    return this.def.name
  }
  get kind() {
    return this.def.kind
  }
  get ports() {
    return this.def.ports
  }
  get urls() {
    return this.def.urls
  }
  get logFile() {
    return this.def.logFile
  }
  get running() {
    return this.child !== undefined && !exited(this.child.process)
  }
  get pid() {
    return this.running ? this.child?.pid : undefined
  }
}

const LOG_TAIL_LINES = 15

/**
 * The last `n` lines of a log file, or '' when it is missing or empty. Lines matching `noise` are
 * left out; how many were, and the last of them, follow the tail.
 */
export const logTail = (path: string, n: number, noise?: RegExp): string => {
  let lines: string[]
  try {
    lines = readFileSync(path, 'utf8').trimEnd().split('\n')
  } catch {
    return ''
  }
  if (lines.length === 1 && lines[0] === '') return ''
  if (!noise) return lines.slice(-n).join('\n')
  const kept = lines.filter((l) => !noise.test(l))
  const left = lines.length - kept.length
  const tail = kept.slice(-n).join('\n')
  if (left === 0) return tail
  const last = lines.findLast((l) => noise.test(l))!
  return `${tail}${tail ? '\n' : ''}(${left} line(s) like this one left out; the last: ${last})`
}

const until = async (
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  alive: () => boolean,
) => {
  const deadline = Date.now() + timeoutMs
  let delay = 50
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${what} exited before it was ready`)
    if (await check()) return
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 250)
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms`)
}

/**
 * The processes of a local cluster: started, killed with -9, restarted on the same ports and
 * data, and stopped in order (one SIGTERM each, a bounded wait, then SIGKILL).
 */
export class ProcessSet {
  private readonly entries = new Map<string, Entry>()
  constructor(private readonly hooks: ProcessSetHooks = {}) {}

  add(def: ProcessDef): ClusterProcess {
    if (this.entries.has(def.name)) throw new Error(`${def.name} is already in the cluster`)
    const e = new Entry(def)
    this.entries.set(def.name, e)
    return e
  }

  /** Forgets a process that is not running (its definition can then be added again). */
  remove(name: string): void {
    if (this.entry(name).running) throw new Error(`${name} is running: stop it before removing it`)
    this.entries.delete(name)
  }

  get all(): ClusterProcess[] {
    return [...this.entries.values()]
  }

  get(name: string): ClusterProcess {
    return this.entry(name)
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name)
    if (!e) throw new Error(`no process named ${name} (have: ${[...this.entries.keys()].join(', ')})`)
    return e
  }

  /** Starts it (if it is not running) and resolves once it is ready. */
  async start(name: string): Promise<void> {
    const e = this.entry(name)
    if (!e.running) {
      const { def } = e
      e.expected = false
      const child = spawnChild({
        name: def.name,
        command: def.command,
        args: def.args,
        env: def.env,
        logFile: def.logFile,
        ...(def.cwd ? { cwd: def.cwd } : {}),
        ...(this.hooks.onLine ? { onLine: (l: string) => this.hooks.onLine!(def.name, l) } : {}),
      })
      e.child = child
      child.process.once('exit', (code, signal) => {
        if (!e.expected && e.served === child) this.hooks.onExit?.(def.name, code, signal)
      })
    }
    try {
      await until(e.name, e.def.ready, e.def.readyTimeoutMs, () => e.running)
      e.served = e.child
    } catch (err) {
      // What the process said last is what tells a port taken from a quorum never formed: a test's
      // cluster node once stayed unready for its whole minute, and the error said only that.
      const tail = logTail(e.def.logFile, LOG_TAIL_LINES, e.def.logNoise)
      throw new Error(
        `${(err as Error).message}${tail ? `; the last lines of ${e.def.logFile}:\n${tail}` : ` (${e.def.logFile} is empty)`}`,
        { cause: err },
      )
    }
  }

  /** SIGKILL to the process and its group; resolves once it is gone. */
  async kill9(name: string): Promise<void> {
    const e = this.entry(name)
    if (!e.child || !e.running) return
    e.expected = true
    await killChild(e.child.process)
  }

  /** One SIGTERM, a bounded drain, SIGKILL after it. */
  async stopOne(name: string): Promise<void> {
    const e = this.entry(name)
    if (!e.child || !e.running) return
    e.expected = true
    await stopChild(e.child.process, e.def.graceMs)
  }

  /** Stops it gracefully if it runs, starts it again on the same ports and data, waits until ready. */
  async restart(name: string): Promise<void> {
    await this.stopOne(name)
    await this.start(name)
  }

  /** Stops every process, kind by kind in the order given (each kind's processes together). */
  async stopAll(order: ProcessKind[]): Promise<void> {
    for (const kind of order)
      await Promise.all(this.all.filter((p) => p.kind === kind).map((p) => this.stopOne(p.name)))
  }
}
