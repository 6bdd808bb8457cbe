import { CLOSE_CODES } from '@chatapp/contracts'
import t from 'tap'
import { closeAction } from '../src/close-policy.js'

t.test('reconnects after codes the catalogue marks reconnectable and after unknown codes', async (t) => {
  for (const c of [1001, 1009, 1011, 4408, 4429, 4430, 1006, 1005, 4999]) {
    t.equal(closeAction(c, false), 'reconnect', String(c))
  }
})

t.test('stops after codes the catalogue marks final', async (t) => {
  t.equal(closeAction(CLOSE_CODES.NORMAL.code, false), 'stop')
  t.equal(closeAction(CLOSE_CODES.SESSION_REVOKED.code, false), 'stop')
})

t.test('refreshes the token once on 4401 and stops on a second 4401', async (t) => {
  t.equal(closeAction(4401, false), 'refresh')
  t.equal(closeAction(4401, true), 'stop')
})

t.test('every catalogue code gets the action its reconnect flag says', async (t) => {
  for (const [name, c] of Object.entries(CLOSE_CODES)) {
    if (c.code === 4401) continue
    t.equal(closeAction(c.code, false), c.reconnect ? 'reconnect' : 'stop', name)
  }
})
