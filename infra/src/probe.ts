import { connect as tcpConnect } from 'node:net'

/** True when something accepts TCP connections at host:port within the timeout. */
export const tcpAnswers = (host: string, port: number, timeoutMs = 500): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = tcpConnect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })

export const hostPort = (url: string, defaultPort: number): { host: string; port: number } => {
  const u = new URL(url.split(',')[0]!.trim())
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : defaultPort }
}

/** Polls `check` until it is true, or throws after `timeoutMs` naming what was awaited. */
export const waitFor = async (
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  let delay = 50
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, delay))
    delay = Math.min(delay * 2, 500)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

export { freePort } from './free-port.js'
