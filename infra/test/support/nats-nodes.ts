import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { ProcessSet } from '../../src/cluster/process-set.js'

/** A data directory and process set for a test's nodes, both gone when the test ends. */
export const nodeDir = (t: Test) => {
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-nats-'))
  const set = new ProcessSet()
  t.teardown(async () => {
    await set.stopAll(['nats'])
    rmSync(dir, { recursive: true, force: true })
  })
  return { dir, set }
}
