import WebSocket from 'ws'

/** Just enough of the protocol to show a cluster answers: accounts over HTTP, frames over a raw WebSocket. */
type Frame = { type: string; rid?: string; [k: string]: unknown }

export const post = async (base: string, path: string, body: unknown): Promise<Record<string, unknown>> => {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const json = (await r.json()) as Record<string, unknown>
  if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(json)}`)
  return json
}

/** Registers and logs in; returns the user id and an access token. */
export const signUp = async (base: string, username: string): Promise<{ userId: string; token: string }> => {
  const password = 'violet harbour tangent 42'
  await post(base, '/v1/auth/register', { username, password, displayName: username })
  const login = await post(base, '/v1/auth/login', { username, password })
  return { userId: String(login.userId), token: String(login.accessToken) }
}

export class Socket {
  readonly frames: Frame[] = []
  private wake: (() => void) | undefined
  /** The close code, once closed. */
  closed: number | undefined
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.frames.push(JSON.parse(d.toString()) as Frame)
      this.wake?.()
    })
    ws.on('close', (code) => {
      this.closed = code
      this.wake?.()
    })
  }

  /** Connects with the token in the handshake and resolves after `hello`. */
  static async open(url: string, token: string): Promise<Socket> {
    const ws = new WebSocket(url, ['chatapp.v1', `bearer.${token}`])
    // Listening before 'open': hello may come in the same read as the upgrade response.
    const s = new Socket(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    await s.next((f) => f.type === 'hello', 10_000)
    return s
  }

  send(frame: Frame): void {
    this.ws.send(JSON.stringify(frame))
  }

  /** The first frame (after index `from`) that matches, within `ms`. */
  async next(pred: (f: Frame) => boolean, ms = 10_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + ms
    for (;;) {
      const hit = this.frames.slice(from).find(pred)
      if (hit) return hit
      if (this.closed !== undefined) throw new Error(`socket closed (${this.closed})`)
      const left = deadline - Date.now()
      if (left <= 0)
        throw new Error(`no matching frame in ${ms} ms; last: ${JSON.stringify(this.frames.slice(-3))}`)
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left)
        this.wake = () => {
          clearTimeout(timer)
          r()
        }
      })
    }
  }

  /** A request and its answer (the frame with the same rid). */
  async request(frame: Frame, ms = 10_000): Promise<Frame> {
    const from = this.frames.length
    this.send(frame)
    return this.next((f) => f.rid === frame.rid, ms, from)
  }

  close(): void {
    this.ws.close()
  }
}
