import { createHmac, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * How a relay verifies a webhook request (docs/protocol.md has the same steps): recompute
 * HMAC-SHA256(secret, "<t>.<raw body>"), compare in constant time, refuse a timestamp older than
 * five minutes (a replay).
 */
export const verifyWebhook = (
  secret: string,
  header: string | undefined,
  raw: string,
  now = Date.now(),
): boolean => {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '')
  if (!m) return false
  const t = Number(m[1])
  if (Math.abs(now - t) > 5 * 60_000) return false
  const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest()
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'))
}

const text = async (req: IncomingMessage): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** A local mobile push relay: `POST /hook/<name>`, checked against the secret the test registered. */
export const startWebhookReceiver = async () => {
  const secrets = new Map<string, string>()
  const received: { name: string; body: Record<string, unknown>; pushId: string | undefined }[] = []
  const forged: string[] = []
  const server = createServer((req, res) => {
    void (async () => {
      const name = /^\/hook\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1] ?? ''
      const raw = await text(req)
      const secret = secrets.get(name)
      if (!secret || !verifyWebhook(secret, req.headers['chatapp-signature'] as string | undefined, raw)) {
        forged.push(name)
        res.writeHead(401).end()
        return
      }
      received.push({
        name,
        body: JSON.parse(raw),
        pushId: req.headers['chatapp-push-id'] as string | undefined,
      })
      res.writeHead(204).end()
    })()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    received,
    forged,
    url: (name: string) => `${origin}/hook/${name}`,
    trust(name: string, secret: string) {
      secrets.set(name, secret)
    },
    of: (name: string) => received.filter((r) => r.name === name),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
