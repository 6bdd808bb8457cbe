import { createServer } from 'node:net'
import t from 'tap'
import { ephemeralRange, freePort, LOWEST_LISTEN_PORT, listenRange } from '../src/free-port.js'

t.test('the ephemeral range is read from the kernel, with the default when it cannot be', async (t) => {
  t.same(ephemeralRange('32768\t60999\n'), [32_768, 60_999])
  t.same(ephemeralRange('1024 65535'), [1_024, 65_535])
  t.same(ephemeralRange(''), [32_768, 60_999])
  t.same(listenRange([32_768, 60_999]), [LOWEST_LISTEN_PORT, 32_767])
  t.equal(listenRange([1_024, 65_535]), undefined, 'no room below it: the kernel chooses')
})

// A port the kernel chose (bind to 0) is one it also gives to outgoing connections: a client could
// take it before the process it was found for binds it. Found ports stay below that range.
t.test('ports found free lie below the ephemeral range, differ, and can be bound', async (t) => {
  const [low] = ephemeralRange()
  const ports: number[] = []
  for (let i = 0; i < 200; i++) ports.push(await freePort())
  t.ok(
    ports.every((p) => p >= LOWEST_LISTEN_PORT && p < low),
    `all in [${LOWEST_LISTEN_PORT}, ${low}): ${ports.filter((p) => p < LOWEST_LISTEN_PORT || p >= low).join(', ') || 'yes'}`,
  )
  t.equal(new Set(ports).size, ports.length, 'never the same port twice from one process')
  const s = createServer()
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject)
    s.listen(ports[0], '127.0.0.1', () => resolve())
  })
  t.teardown(() => s.close())
  t.equal((s.address() as { port: number }).port, ports[0])
})
