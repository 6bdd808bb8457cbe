import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

/** A real projector process (the built `dist/main.js`) on a test namespace's environment. */
export const spawnProjector = (
  env: Record<string, string>,
  extra: Record<string, string> = {},
): ChildProcess =>
  spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...env, PROJECTOR_OPS_PORT: '0', LOG_LEVEL: 'warn', ...extra },
    stdio: ['ignore', 'ignore', 'inherit'],
  })

/** kill -9, and wait until the process is gone (its PostgreSQL lease goes with its connections). */
export const killHard = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}
