import { createTestNamespace } from '@chatapp/infra'
import { createConversationLog } from '@chatapp/kit'
import type { Test } from 'tap'
import { createCommandRunner } from '../../src/conversation/command-runner.js'
import { directConversationId } from '../../src/conversation/conversation-ids.js'
import { createStateStore, type StateStoreOptions } from '../../src/conversation/state-store.js'
import { RUNNER_LIMITS } from './gateway.js'

/**
 * A namespace of its own with a writer (a gateway's runner, its own log and state store) and the
 * direct conversation of `a` and `b` opened: what feed and sync tests start from. The gateway
 * under test builds its own log and store on `tn`, so it learns of the writes only from the log.
 */
export const directWriter = async (t: Test, a: string, b: string, store: StateStoreOptions = {}) => {
  const tn = await createTestNamespace()
  t.teardown(tn.cleanup)
  const log = await createConversationLog(tn.nc, tn.names)
  const runner = createCommandRunner(log, await createStateStore(tn.nc, tn.names, log, store), {
    limits: RUNNER_LIMITS,
  })
  const d = directConversationId(a, b)
  const opened = await runner.run(d, { type: 'direct.open', actor: a, peerId: b, known: new Set([a, b]) })
  if (!opened.ok) throw new Error(`direct.open refused: ${JSON.stringify(opened)}`)
  return { tn, log, runner, d, openedSeq: opened.seq ?? 0 }
}
