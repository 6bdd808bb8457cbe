import WebSocket from 'ws'
import { encodeHistogram, newHistogram, recordUs } from '../core/latency.js'
import { stampText } from '../core/stamp.js'
import type { EchoResult, EchoSetup } from './messages.js'

/**
 * The client half of the WebSocket ceiling: `connections` sockets, each keeping `depth` messages
 * of the benchmark's size in flight (closed loop), measuring round trips with the `ws` library
 * the chat load uses.
 */
export const runEcho = async (s: EchoSetup): Promise<EchoResult> => {
  const rtt = newHistogram()
  let echoed = 0
  const text = stampText({ sender: 0, n: 0, sentAtUs: 0 }, s.msgBytes)
  const sockets = await Promise.all(
    Array.from(
      { length: s.connections },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(s.wsUrl, { perMessageDeflate: false })
          ws.once('open', () => resolve(ws))
          ws.once('error', reject)
        }),
    ),
  )
  const start = performance.now()
  const end = start + s.durationMs
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          const sentAt: number[] = []
          let inFlight = 0
          const fire = () => {
            sentAt.push(performance.now())
            inFlight++
            ws.send(text)
          }
          ws.on('message', () => {
            const t0 = sentAt.shift()!
            const now = performance.now()
            recordUs(rtt, (now - t0) * 1000)
            echoed++
            inFlight--
            if (now < end) fire()
            else if (inFlight === 0) resolve()
          })
          for (let i = 0; i < s.depth; i++) fire()
        }),
    ),
  )
  const seconds = (performance.now() - start) / 1000
  for (const ws of sockets) ws.close()
  return { echoed, seconds, rtt: encodeHistogram(rtt) }
}
