import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * Ports for processes this project starts (cluster nodes, services, test servers), found free
 * and then handed to a process that binds them moments later.
 *
 * The kernel's own choice (bind to port 0) comes from the ephemeral range, the one it also takes
 * the local port of every outgoing connection from: between the moment a port is found free and
 * the moment the process binds it, any client connecting anywhere could get it, and the process
 * then died on "bind: address already in use" (a test cluster's nats-server, make test, CI). Ports
 * below the ephemeral range are never given to outgoing connections, so only another finder can
 * race for one; drawn at random from about 12,000, and never twice from one process, that is rare,
 * and the starts that bind them retry on other ports anyway (launchNatsNodes).
 */

/** Below this, registered services live (PostgreSQL 5432, NATS 4222, the local S3 14568). */
export const LOWEST_LISTEN_PORT = 20_000

/** The kernel's ephemeral range, [low, high], from `ip_local_port_range` (Linux's default if unreadable). */
export const ephemeralRange = (text?: string): [number, number] => {
  let raw = text
  if (raw === undefined) {
    try {
      raw = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
    } catch {
      raw = ''
    }
  }
  const m = /^\s*(\d+)\s+(\d+)/.exec(raw)
  return m ? [Number(m[1]), Number(m[2])] : [32_768, 60_999]
}

/**
 * Where to draw from: [LOWEST_LISTEN_PORT, the ephemeral range's low end), or undefined when the
 * ephemeral range leaves too little below it (then the kernel chooses).
 */
export const listenRange = (ephemeral: [number, number]): [number, number] | undefined => {
  const high = ephemeral[0] - 1
  return high - LOWEST_LISTEN_PORT >= 1_000 ? [LOWEST_LISTEN_PORT, high] : undefined
}

const handedOut = new Set<number>()

const bindable = (port: number): Promise<number | undefined> =>
  new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(undefined))
    s.listen(port, '127.0.0.1', () => {
      const addr = s.address()
      const bound = typeof addr === 'object' && addr ? addr.port : undefined
      s.close(() => resolve(bound))
    })
  })

const range = listenRange(ephemeralRange())
const DRAWS = 50

/** A port free on 127.0.0.1 right now, outside the ephemeral range, not handed out before by this process. */
export const freePort = async (): Promise<number> => {
  if (range) {
    for (let i = 0; i < DRAWS; i++) {
      const port = range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1))
      if (handedOut.has(port)) continue
      if ((await bindable(port)) === port) {
        handedOut.add(port)
        return port
      }
    }
  }
  for (;;) {
    const port = await bindable(0)
    if (port === undefined) throw new Error('no free port on 127.0.0.1')
    if (!handedOut.has(port)) {
      handedOut.add(port)
      return port
    }
  }
}
