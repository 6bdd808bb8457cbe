import type { ServerFrame, ServerFrameOf } from '@chatapp/contracts'
import WebSocket from 'ws'

/** A frame predicate that narrows to one frame type: `c.waitFor(isType('synced'))`. */
export const isType =
  <T extends ServerFrame['type']>(type: T) =>
  (f: ServerFrame): f is ServerFrameOf<T> =>
    f.type === type

/** A client past `hello` and a full `sync`, closed when the test ends: how most tests start a device. */
export const openSynced = async (
  url: string,
  token: string,
  t: { teardown(f: () => void): void },
): Promise<TestClient> => {
  const c = await TestClient.open(url, { token })
  t.teardown(() => c.close())
  await c.waitFor(isType('hello'))
  c.send({ type: 'sync', rid: 's' })
  await c.waitFor(isType('synced'))
  return c
}

/**
 * A raw-`ws` test client: records every frame, and waits for the one a test expects (bounded),
 * never sleeping as synchronisation.
 */
export class TestClient {
  readonly frames: ServerFrame[] = []
  closed: { code: number; reason: string } | undefined
  private waiters: (() => void)[] = []
  private rid = 0

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame)
      this.wake()
    })
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() }
      this.wake()
    })
  }

  private wake() {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  static open(
    url: string,
    opts: { token?: string; protocols?: string[]; origin?: string } = {},
  ): Promise<TestClient> {
    const protocols = opts.protocols ?? (opts.token ? ['chatapp.v1', `bearer.${opts.token}`] : ['chatapp.v1'])
    const ws = new WebSocket(url, protocols, opts.origin ? { origin: opts.origin } : {})
    const c = new TestClient(ws)
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c))
      ws.once('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
      )
      ws.once('error', reject)
    })
  }

  nextRid(): string {
    return `r${++this.rid}`
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** Waits until `pred` holds for some recorded frame (from index `from`), or throws after `ms`. */
  async waitFor<T extends ServerFrame>(
    pred: (f: ServerFrame) => f is T,
    ms?: number,
    from?: number,
  ): Promise<T>
  async waitFor(pred: (f: ServerFrame) => boolean, ms?: number, from?: number): Promise<ServerFrame>
  async waitFor(pred: (f: ServerFrame) => boolean, ms = 5000, from = 0): Promise<ServerFrame> {
    const deadline = Date.now() + ms
    for (;;) {
      const hit = this.frames.slice(from).find(pred)
      if (hit) return hit
      if (this.closed) throw new Error(`closed (${this.closed.code}) while waiting`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out; frames: ${JSON.stringify(this.frames.slice(-5))}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  async waitClosed(ms = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + ms
    while (!this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('not closed in time')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    return this.closed
  }

  /**
   * Sends a frame with a fresh rid and waits for the `ok`/`sent`/`error` that answers it. A send
   * answered by its own event (the event carries the rid) is returned as the `sent` it stands for.
   */
  async request(frame: Record<string, unknown>, ms = 5000): Promise<ServerFrame> {
    const rid = this.nextRid()
    this.send({ ...frame, rid })
    const f = await this.waitFor((f) => 'rid' in f && f.rid === rid && f.type !== 'inbox', ms)
    if (f.type !== 'event' || f.event.type !== 'message.sent') return f
    return {
      type: 'sent',
      rid,
      conversationId: f.conversationId,
      clientMsgId: f.event.data.clientMsgId,
      seq: f.seq,
      n: f.event.data.n,
      at: f.event.at,
      duplicate: false,
    }
  }

  events(conversationId?: string) {
    return this.frames.filter(
      (f): f is Extract<ServerFrame, { type: 'event' }> =>
        f.type === 'event' && (conversationId === undefined || f.conversationId === conversationId),
    )
  }

  close(): void {
    this.ws.close()
  }
}
