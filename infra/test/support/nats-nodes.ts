import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { ProcessSet, type ProcessSetHooks } from '../../src/cluster/process-set.js'

/** A data directory and process set (with `hooks`) for a test's nodes, both gone when the test ends. */
export const nodeDir = (t: Test, hooks?: ProcessSetHooks) => {
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-nats-'))
  const set = new ProcessSet(hooks)
  t.teardown(async () => {
    await set.stopAll(['nats'])
    rmSync(dir, { recursive: true, force: true })
  })
  return { dir, set }
}
