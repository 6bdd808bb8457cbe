import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'

/**
 * The browser adapter against a real WebSocket server. Node 20 has no global WebSocket: `ws`'s
 * own class stands in for the browser's (it has the same `onopen` / `onmessage` / `onclose`
 * properties), and a small EventTarget for the window's `offline` event.
 */
const win = new EventTarget()
Object.assign(globalThis, {
  WebSocket,
  addEventListener: win.addEventListener.bind(win),
})
const { default: BrowserWebSocket } = await import('../../src/browser/ws.js')

const server = new WebSocketServer({ port: 0, host: '127.0.0.1' })
await new Promise((r) => server.once('listening', r))
const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}`
server.on('connection', (s, req) => {
  s.send(`hello ${req.headers['sec-websocket-protocol']}`)
  s.on('message', (m) => s.send(`echo ${String(m)}`))
})
t.teardown(() => server.close())

const open = () => {
  const ws = new BrowserWebSocket(url, ['chatapp.v1', 'bearer.t0k'])
  const frames: string[] = []
  const waiting: { n: number; resolve: () => void }[] = []
  ws.on('message', (d: string) => {
    frames.push(d)
    for (const w of waiting) if (frames.length >= w.n) w.resolve()
  })
  /** Resolves once `n` frames have arrived. */
  const received = (n: number) =>
    new Promise<void>((resolve) => (frames.length >= n ? resolve() : waiting.push({ n, resolve })))
  const opened = new Promise<void>((r) => ws.once('open', () => r()))
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.on('close', (code: number, reason: { toString(): string }) => r({ code, reason: reason.toString() })),
  )
  return { ws, frames, received, opened, closed }
}

t.test(
  'speaks ws’s API over the browser’s socket: subprotocols, text frames, close code and reason',
  async (t) => {
    const c = open()
    t.equal(c.ws.readyState, BrowserWebSocket.CONNECTING)
    await c.opened
    t.equal(c.ws.readyState, BrowserWebSocket.OPEN)
    c.ws.send('ping')
    await c.received(2)
    t.same(c.frames, ['hello chatapp.v1,bearer.t0k', 'echo ping'], 'text frames arrive as strings')
    c.ws.close(1000)
    const closed = await c.closed
    t.equal(closed.code, 1000)
    t.equal(c.ws.readyState, BrowserWebSocket.CLOSED)
  },
)

t.test('terminate() reports 1006 at once, without waiting for the peer', async (t) => {
  const c = open()
  await c.opened
  let reported: number | undefined
  c.ws.on('close', (code: number) => {
    reported = code
  })
  c.ws.terminate()
  t.equal(reported, 1006, 'synchronously')
  t.equal(c.ws.readyState, BrowserWebSocket.CLOSED)
})

t.test(
  'the browser going offline ends every open socket, so the client reconnects as soon as it can',
  async (t) => {
    const a = open()
    const b = open()
    await Promise.all([a.opened, b.opened])
    win.dispatchEvent(new Event('offline'))
    t.same(await Promise.all([a.closed, b.closed]).then((x) => x.map((c) => c.code)), [1006, 1006])
  },
)
