import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import { testGateways } from '../support/gateway.js'
import { isType, TestClient } from '../support/ws-client.js'

t.test(
  'a burst of simultaneous connections (a reconnect storm) all get hello; none is closed at birth',
  async (t) => {
    const tn = await createTestNamespace({ shards: 2 })
    t.teardown(tn.cleanup)
    const gws = await testGateways(tn)
    const gw = await gws.start()
    t.teardown(() => gw.close())
    const user = (i: number) => `u_burst${String(i).padStart(5, '0')}`
    const tokens = await Promise.all(Array.from({ length: 24 }, (_, i) => gws.token(user(i))))
    let opened = 0
    for (let round = 0; round < 10; round++) {
      const all = await Promise.all(
        tokens.map(async (token) => {
          const c = await TestClient.open(gw.url, { token })
          await c.waitFor(isType('hello'))
          opened++
          return c
        }),
      )
      for (const c of all) c.close()
      await Promise.all(all.map((c) => c.waitClosed()))
    }
    t.equal(opened, 240)
  },
)
