import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { freePort } from './free-port.js'

/**
 * Runs the system's services as child processes of the benchmark (never in its own process, so
 * their CPU and memory are measured apart), each on free ports, and stops exactly those.
 */
export type ServiceName = 'gateway' | 'projector' | 'media-worker' | 'push-worker'

export interface RunningService {
  name: ServiceName
  pid: number
  opsPort: number
  /** Gateway only: the WebSocket / HTTP port. */
  port?: number
  child: ChildProcess
  /** The last lines the service wrote, for the error message when it dies. */
  tail: string[]
}

const ENTRY: Record<ServiceName, string> = {
  gateway: 'gateway/dist/main.js',
  projector: 'projector/dist/main.js',
  'media-worker': 'media-worker/dist/main.js',
  'push-worker': 'gateway/dist/push-worker-main.js',
}

const OPS_VAR: Record<ServiceName, string> = {
  gateway: 'GATEWAY_OPS_PORT',
  projector: 'PROJECTOR_OPS_PORT',
  'media-worker': 'MEDIA_WORKER_OPS_PORT',
  'push-worker': 'PUSH_WORKER_OPS_PORT',
}

export const serviceBuilt = (root: string, name: ServiceName): boolean => existsSync(join(root, ENTRY[name]))

const readyz = async (port: number): Promise<boolean> => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })
    return r.status === 200
  } catch {
    return false
  }
}

export interface StartOptions {
  root: string
  env: Record<string, string>
  /** Soft and hard file-descriptor limit for the process (via prlimit), for the connections scenario. */
  nofile?: number
  readyTimeoutMs?: number
  nodeArgs?: string[]
}

export const startService = async (name: ServiceName, o: StartOptions): Promise<RunningService> => {
  const opsPort = await freePort()
  const port = name === 'gateway' ? await freePort() : undefined
  mkdirSync(join(o.root, '.data', 'bench'), { recursive: true })
  const env: Record<string, string> = {
    ...o.env,
    [OPS_VAR[name]]: String(opsPort),
    ...(port !== undefined ? { GATEWAY_PORT: String(port), GATEWAY_HOST: '127.0.0.1' } : {}),
  }
  const node = [process.execPath, ...(o.nodeArgs ?? []), join(o.root, ENTRY[name])]
  // `ulimit -n` is per process: prlimit execs node with the raised limit (same pid, so it is
  // the one we sample). Without prlimit, the service inherits ours.
  const argv =
    o.nofile && existsSync('/usr/bin/prlimit')
      ? ['/usr/bin/prlimit', `--nofile=${o.nofile}:${o.nofile}`, ...node]
      : node
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: o.root })
  // If this process dies without its cleanup (a crash, EPIPE on a closed pipe), the service
  // must not outlive it: kill() is synchronous, so it works from the 'exit' event.
  const orphanGuard = () => child.kill('SIGTERM')
  process.once('exit', orphanGuard)
  child.once('exit', () => process.off('exit', orphanGuard))
  const tail: string[] = []
  for (const s of [child.stdout!, child.stderr!])
    createInterface({ input: s }).on('line', (l) => {
      tail.push(l)
      if (tail.length > 20) tail.shift()
    })
  const svc: RunningService = {
    name,
    pid: child.pid ?? 0,
    opsPort,
    ...(port !== undefined ? { port } : {}),
    child,
    tail,
  }
  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000)
  let delay = 50
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `${name} exited (${child.signalCode ?? child.exitCode}) before ready:\n${tail.join('\n')}`,
      )
    if (await readyz(opsPort)) return svc
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 500)
  }
  await stopService(svc)
  throw new Error(`${name} not ready after ${o.readyTimeoutMs ?? 60_000} ms:\n${tail.join('\n')}`)
}

/** SIGTERM, then SIGKILL after the grace period: a benchmark never leaves a service behind. */
export const stopService = (s: RunningService, graceMs = 8000): Promise<void> =>
  new Promise((resolve) => {
    const c = s.child
    if (c.exitCode !== null || c.signalCode !== null) return resolve()
    const timer = setTimeout(() => c.kill('SIGKILL'), graceMs)
    c.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    c.kill('SIGTERM')
  })
