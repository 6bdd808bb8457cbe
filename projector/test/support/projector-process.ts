import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { TestNamespace } from '@chatapp/infra'

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

/**
 * One of the tests' own projector scripts (support/*-child.mjs, on the built package) in a
 * process of its own, told the namespace (and `extra`) as JSON; its stdout is piped for the test
 * to read the steps it reports.
 */
export const spawnScript = (
  script: string,
  tn: TestNamespace,
  extra: Record<string, unknown> = {},
): ChildProcess =>
  spawn(
    process.execPath,
    [
      script,
      JSON.stringify({
        natsUrl: tn.stack.natsUrl,
        databaseUrl: tn.stack.databaseUrl,
        ns: tn.ns,
        shards: tn.names.shards,
        ...extra,
      }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
