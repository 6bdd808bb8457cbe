import { createTestNamespace } from '@chatapp/infra'
import t from 'tap'
import WebSocket from 'ws'
import { startGatewayProcess } from '../support/gateway-process.js'

// The upgrade is answered inside uWS's own callback and the handshake's token is checked once the
// socket is open. Before, the upgrade followed an await (the token check), uncorked, and uWS
// printed "writes must be made from within a corked callback" to stderr for every connection.
t.test(
  'a burst of upgrades prints no uWS warning; frames sent before hello are answered in order after it',
  async (t) => {
    const tn = await createTestNamespace({ shards: 1 })
    t.teardown(tn.cleanup)
    const gw = await startGatewayProcess(tn)
    t.teardown(() => gw.stop())
    let stderr = ''
    gw.proc.stderr!.on('data', (d) => {
      stderr += d
    })
    const post = async (path: string, body: unknown) =>
      (await (
        await fetch(`${gw.base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as Record<string, string>
    await post('/v1/auth/register', { username: 'ulla', password: 'amber lantern quietly', displayName: 'U' })
    const { accessToken } = await post('/v1/auth/login', {
      username: 'ulla',
      password: 'amber lantern quietly',
      deviceId: 'burst',
    })

    // 24 at once, each pipelining two pings right after 'open', without waiting for hello.
    const runs = await Promise.all(
      Array.from(
        { length: 24 },
        () =>
          new Promise<string[]>((resolve, reject) => {
            const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/v1/ws`, [
              'chatapp.v1',
              `bearer.${accessToken}`,
            ])
            const seen: string[] = []
            const timer = setTimeout(() => reject(new Error(`only ${seen.join(',')} in 10 s`)), 10_000)
            ws.on('open', () => {
              ws.send(JSON.stringify({ type: 'ping', rid: 'p1' }))
              ws.send(JSON.stringify({ type: 'ping', rid: 'p2' }))
            })
            ws.on('message', (m) => {
              const f = JSON.parse(m.toString()) as { type: string; rid?: string }
              seen.push(f.rid ? `${f.type}:${f.rid}` : f.type)
              if (seen.length === 3) {
                clearTimeout(timer)
                ws.close()
                resolve(seen)
              }
            })
            ws.on('close', (code) => reject(new Error(`closed ${code} after ${seen.join(',')}`)))
            ws.on('error', reject)
          }),
      ),
    )
    t.same(
      new Set(runs.map((r) => r.join(' '))),
      new Set(['hello pong:p1 pong:p2']),
      'hello first, then both answers, in order',
    )

    // A bad token is still refused with 4401 after the socket opened, and what it sent is dropped.
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/v1/ws`, ['chatapp.v1', 'bearer.not-a-token'])
      ws.on('open', () => ws.send(JSON.stringify({ type: 'ping', rid: 'x' })))
      ws.on('message', (m) => t.notMatch(m.toString(), /pong/, 'nothing answered for a refused token'))
      ws.on('close', (code) => resolve(code))
    })
    t.equal(refused, 4401)
    t.notMatch(stderr, /corked/, 'no uWS cork warning on stderr')
  },
)
