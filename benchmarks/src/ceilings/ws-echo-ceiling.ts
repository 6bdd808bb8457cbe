import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { mergeHistograms, summarize } from '../core/latency.js'
import { splitCount } from '../core/plan.js'
import type { EchoCeiling } from '../core/result.js'
import type { WorkerPool } from '../load/pool.js'
import type { Cleanup } from '../system/cleanup.js'

// From dist as built; tests running the TypeScript sources still start the built server.
const SERVER = fileURLToPath(new URL('./echo-server.js', import.meta.url)).replace(
  /\/src\/(?=ceilings\/echo-server\.js$)/,
  '/dist/',
)

/** Starts the bare uWebSockets.js echo in its own process; resolves with its pid and port. */
export const startEchoServer = async (
  cleanup: Cleanup,
): Promise<{ pid: number; port: number; stop: () => Promise<void> }> => {
  const child = spawn(process.execPath, [SERVER], { stdio: ['ignore', 'pipe', 'inherit'] })
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  cleanup.add('echo server', stop)
  const orphanGuard = () => child.kill('SIGTERM')
  process.once('exit', orphanGuard)
  child.once('exit', () => process.off('exit', orphanGuard))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('echo server did not start in 10 s')), 10_000)
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = /^listening (\d+)$/.exec(l)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.once('exit', (code) => reject(new Error(`echo server exited (${code})`)))
  })
  return { pid: child.pid ?? 0, port, stop }
}

export const measureWsEcho = async (
  pool: WorkerPool,
  port: number,
  o: { connections: number; depth: number; msgBytes: number; durationMs: number },
): Promise<EchoCeiling> => {
  const per = splitCount(o.connections, pool.size)
  const results = await pool.echo(
    per.map((connections) => ({
      kind: 'echo' as const,
      wsUrl: `ws://127.0.0.1:${port}/`,
      connections,
      msgBytes: o.msgBytes,
      depth: o.depth,
      durationMs: o.durationMs,
    })),
    o.durationMs + 30_000,
  )
  const seconds = Math.max(...results.map((r) => r.seconds))
  return {
    msgBytes: o.msgBytes,
    connections: o.connections,
    maxRate: Math.round(results.reduce((a, r) => a + r.echoed, 0) / seconds),
    rtt: summarize(mergeHistograms(results.map((r) => r.rtt))),
  }
}
