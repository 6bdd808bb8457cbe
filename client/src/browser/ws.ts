/**
 * The browser's WebSocket behind the part of the `ws` package's API that the Connector uses, so
 * the web app's bundle runs the same client code as Node (the bundler maps `ws` to this file).
 *
 * Differences from `ws` that a browser imposes, and how they are handled:
 * - no handshake status: a refused upgrade is a close with 1006 (the gateway reports a bad token
 *   after the upgrade, with an `error` frame and 4401, so the client's decision is the same);
 * - no Origin option: the browser sends the page's own;
 * - `terminate()` has no native form: the socket is detached at once and reported closed with
 *   1006 (a closing handshake over a dead network could take minutes);
 * - the browser knows when the network is gone (`offline`): every open socket is terminated then,
 *   so the client reconnects (and resends) as soon as it can, instead of waiting for its keepalive.
 */

/** The browser's WebSocket, as much of it as this file touches (the client builds without DOM types). */
interface NativeSocket {
  readonly readyState: number
  binaryType: string
  onopen: (() => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: (() => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}
type NativeCtor = new (url: string, protocols: string[]) => NativeSocket
interface BrowserGlobals {
  WebSocket: NativeCtor
  addEventListener?: (type: string, listener: () => void) => void
}

type Listener = (...args: never[]) => void

const CONNECTING = 0
const OPEN = 1
const CLOSING = 2
const CLOSED = 3

const live = new Set<BrowserWebSocket>()
let watchingNetwork = false
const watchNetwork = (g: BrowserGlobals): void => {
  if (watchingNetwork || g.addEventListener === undefined) return
  watchingNetwork = true
  g.addEventListener('offline', () => {
    for (const s of [...live]) s.terminate()
  })
}

/** Text frames arrive as strings; `reason` is handed over with a `toString()` like ws's Buffer. */
export default class BrowserWebSocket {
  static readonly CONNECTING = CONNECTING
  static readonly OPEN = OPEN
  static readonly CLOSING = CLOSING
  static readonly CLOSED = CLOSED

  private native: NativeSocket | undefined
  private state = CONNECTING
  private readonly listeners = new Map<string, { fn: Listener; once: boolean }[]>()

  constructor(url: string, protocols: string[], _options?: unknown) {
    const g = globalThis as unknown as BrowserGlobals
    watchNetwork(g)
    const native = new g.WebSocket(url, protocols)
    this.native = native
    live.add(this)
    native.onopen = () => {
      this.state = OPEN
      this.emit('open')
    }
    native.onmessage = (ev) => {
      // Binary frames are not part of the protocol; they still reach the decoder, which refuses them.
      this.emit('message', typeof ev.data === 'string' ? ev.data : new Uint8Array(0))
    }
    native.onerror = () => this.emit('error', new Error('WebSocket error'))
    native.onclose = (ev) => this.closed(ev.code, ev.reason)
  }

  get readyState(): number {
    return this.state
  }

  send(text: string): void {
    this.native?.send(text)
  }

  close(code?: number): void {
    if (this.state === CLOSED) return
    this.state = CLOSING
    this.native?.close(code)
  }

  /** Ends the socket now, without waiting for the peer. */
  terminate(): void {
    const native = this.native
    if (native === undefined) return
    native.onopen = native.onmessage = native.onclose = native.onerror = null
    try {
      native.close()
    } catch {
      // Closing a socket that is still connecting throws in some browsers: it is abandoned anyway.
    }
    this.closed(1006, '')
  }

  on(event: string, fn: Listener): this {
    return this.add(event, fn, false)
  }

  once(event: string, fn: Listener): this {
    return this.add(event, fn, true)
  }

  private add(event: string, fn: Listener, once: boolean): this {
    const list = this.listeners.get(event) ?? []
    list.push({ fn, once })
    this.listeners.set(event, list)
    return this
  }

  private closed(code: number, reason: string): void {
    if (this.native === undefined) return
    this.native = undefined
    this.state = CLOSED
    live.delete(this)
    this.emit('close', code, { toString: () => reason })
  }

  private emit(event: string, ...args: unknown[]): void {
    const list = this.listeners.get(event)
    if (list === undefined) return
    this.listeners.set(
      event,
      list.filter((l) => !l.once),
    )
    for (const l of list) (l.fn as (...a: unknown[]) => void)(...args)
  }
}
