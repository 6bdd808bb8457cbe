import { request } from 'node:http'
import { connect, type Socket } from 'node:net'

/** One HTTP/1.1 response as read off the wire: the body is exactly Content-Length bytes. */
export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/**
 * A raw keep-alive connection: writes requests byte for byte (so a test controls framing
 * headers a client library would normalise) and reads responses one after the other, each framed
 * by its Content-Length. Whatever a response carries beyond that stays in the buffer and becomes
 * the start of the next response, which is how a desynchronised connection shows up.
 */
export class RawConnection {
  private readonly socket: Socket
  private buffer = Buffer.alloc(0)
  private waiters: (() => void)[] = []
  closed = false

  private constructor(port: number) {
    this.socket = connect(port, '127.0.0.1')
    this.socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d])
      this.wake()
    })
    this.socket.on('error', () => {})
    this.socket.on('close', () => {
      this.closed = true
      this.wake()
    })
  }

  static async open(port: number): Promise<RawConnection> {
    const c = new RawConnection(port)
    await new Promise<void>((resolve, reject) => {
      c.socket.once('connect', resolve)
      c.socket.once('error', reject)
    })
    return c
  }

  write(raw: string | Buffer): void {
    this.socket.write(raw)
  }

  /** The next response, or undefined if the connection closed before a whole one arrived. */
  async next(timeoutMs = 5000): Promise<RawResponse | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const r = this.parse()
      if (r) return r
      if (this.closed) return undefined
      if (Date.now() > deadline) throw new Error(`no complete response within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** Resolves when the server has closed the connection (bounded). */
  async closedByServer(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed && Date.now() < deadline)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    return this.closed
  }

  destroy(): void {
    this.socket.destroy()
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  private parse(): RawResponse | undefined {
    const end = this.buffer.indexOf('\r\n\r\n')
    if (end < 0) return undefined
    const lines = this.buffer.subarray(0, end).toString('latin1').split('\r\n')
    const status = Number(lines[0]!.split(' ')[1])
    const headers: Record<string, string> = {}
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':')
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
    }
    const length = Number(headers['content-length'] ?? 0)
    if (this.buffer.length < end + 4 + length) return undefined
    const body = this.buffer.subarray(end + 4, end + 4 + length)
    this.buffer = this.buffer.subarray(end + 4 + length)
    return { status, headers, body }
  }
}

/** A request head with exactly these header lines, in this order (repeats allowed). */
export const rawHead = (method: string, path: string, headers: [string, string][]): string =>
  `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`

/**
 * POSTs `body` with `Transfer-Encoding: chunked` (no Content-Length, as a client streaming a file
 * of unknown size does) and resolves with the status and the error code of the answer, if any.
 */
export const postChunked = (
  url: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; code: string | undefined }> =>
  new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'transfer-encoding': 'chunked' },
    })
    req.on('response', (res) => {
      let text = ''
      res.on('data', (d) => {
        text += d
      })
      res.on('end', () => {
        let code: string | undefined
        try {
          code = JSON.parse(text).error?.code
        } catch {
          code = undefined
        }
        resolve({ status: res.statusCode ?? 0, code })
      })
    })
    req.on('error', reject)
    for (let i = 0; i < body.length; i += 64 * 1024) req.write(body.subarray(i, i + 64 * 1024))
    req.end()
  })
