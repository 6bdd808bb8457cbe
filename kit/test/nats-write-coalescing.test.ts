import { connect } from '@nats-io/transport-node'
import t from 'tap'
import { createLogger } from '../src/logger.js'
import { connectNats } from '../src/nats.js'
import { coalesceWrites } from '../src/nats-write-coalescing.js'

const url = process.env.NATS_URL ?? 'nats://127.0.0.1:4222'

/** Counts the connection's writes to its socket. */
const countWrites = (nc: object) => {
  const transport = (nc as { protocol: { transport: { send(frame: Uint8Array): void } } }).protocol.transport
  const send = transport.send.bind(transport)
  let writes = 0
  transport.send = (frame) => {
    writes++
    send(frame)
  }
  return () => writes
}

/** `n` publishes, each from its own timer callback of one loop turn (as WebSocket frames arrive). */
const publishFromCallbacks = async (
  nc: { publish(s: string, d: string): void; flush(): Promise<void> },
  subject: string,
  n: number,
) => {
  await new Promise<void>((resolve) => {
    let left = n
    for (let i = 0; i < n; i++)
      setTimeout(() => {
        nc.publish(subject, `m${i}`)
        if (--left === 0) resolve()
      }, 0)
  })
}

t.test(
  'publishes made by many callbacks of one loop turn reach the socket in one write, in order',
  async (t) => {
    const nc = await connectNats(url, 'kit-coalesce', createLogger('test', 'silent'))
    t.teardown(() => nc.close())
    const subject = `coalesce.${Date.now()}`
    const got: string[] = []
    const sub = nc.subscribe(subject, {
      callback: (_e, m) => {
        got.push(m.string())
      },
    })
    t.teardown(() => sub.unsubscribe())
    await nc.flush()
    const writes = countWrites(nc)
    await publishFromCallbacks(nc, subject, 50)
    await nc.flush()
    t.ok(writes() <= 3, `50 publishes in ${writes()} writes (the publishes, the flush's PING)`)
    const end = Date.now() + 5_000
    while (got.length < 50 && Date.now() < end) await new Promise((r) => setTimeout(r, 10))
    t.same(
      got,
      Array.from({ length: 50 }, (_, i) => `m${i}`),
      'every message, in order',
    )
  },
)

t.test('without it, nats.js writes once per callback (what the coalescing saves)', async (t) => {
  const nc = await connect({ servers: url, noAsyncTraces: true })
  t.teardown(() => nc.close())
  await nc.flush()
  const writes = countWrites(nc)
  await publishFromCallbacks(nc, `coalesce.raw.${Date.now()}`, 50)
  await nc.flush()
  t.ok(writes() >= 50, `${writes()} writes for 50 publishes`)
  t.ok(coalesceWrites(nc), 'the internals it relies on are there')
  t.notOk(coalesceWrites({}), 'an unexpected shape is left alone')
})
