import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { repoRoot } from '@chatapp/infra'

const run = promisify(execFile)

/**
 * `chatapp-ops <args>` with a stack's environment, as an operator runs it: its exit status and
 * output. Bounded: a command that cannot finish (a stream without a leader) is a finding, not a hang.
 */
export const opsCli = async (
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number; out: string }> => {
  try {
    const r = await run(process.execPath, [join(repoRoot, 'projector/dist/cli.js'), ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 180_000,
    })
    return { code: 0, out: r.stdout }
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof x.code === 'number' ? x.code : 3, out: `${x.stdout ?? ''}${x.stderr ?? ''}` }
  }
}
