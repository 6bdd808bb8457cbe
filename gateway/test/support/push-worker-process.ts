import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { TestNamespace } from '@chatapp/infra'
import { ended } from './projector.js'

export interface PushWorkerProcess {
  proc: ChildProcess
  /** Log lines (JSON) so far. */
  lines: string[]
  stop(): Promise<void>
  kill(): Promise<void>
}

/**
 * The push worker as deployed (`dist/push-worker-main.js`, configured by the environment), or a
 * test's own entry (`entry`: a script that builds the worker with a hook, e.g. to crash at a
 * step). Resolves once it logged `push worker started`.
 */
export const startPushWorkerProcess = async (
  tn: TestNamespace,
  env: Record<string, string>,
  entry = new URL('../../dist/push-worker-main.js', import.meta.url).pathname,
): Promise<PushWorkerProcess> => {
  const proc = spawn(process.execPath, [entry], {
    env: { ...process.env, ...tn.env, PUSH_WORKER_OPS_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const orphan = () => proc.kill('SIGKILL')
  process.once('exit', orphan)
  proc.once('exit', () => process.off('exit', orphan))
  const lines: string[] = []
  await new Promise<void>((resolve, reject) => {
    // Killed before the rejection: a child left starting would outlive the test file.
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error('the push worker did not start in 30 s'))
    }, 30_000)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the push worker exited with ${code}: ${lines.slice(-3).join('\n')}`))
    })
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines.push(line)
      if (line.includes('"push worker started"')) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  return { proc, lines, stop: () => ended(proc, 'SIGTERM'), kill: () => ended(proc, 'SIGKILL') }
}
