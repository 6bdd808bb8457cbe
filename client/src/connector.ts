import WebSocket, { type RawData } from 'ws'
import { type BackoffOptions, backoffDelay } from './backoff.js'
import { type CloseAction, closeAction } from './close-policy.js'
import { ChatClientError, isChatClientError } from './errors.js'
import { unref } from './unref.js'

export const SUBPROTOCOL = 'chatapp.v1'

export interface ConnectorOptions {
  urls: readonly string[]
  /** Fetches the access token for an attempt (the client's provider, after any preparation). */
  token: (forceRefresh: boolean) => Promise<string>
  auth: 'subprotocol' | 'frame'
  origin: string | undefined
  maxPayload: number
  backoff: BackoffOptions
  maxReconnectAttempts: number
  pingIntervalMs: number
  random: (() => number) | undefined
}

/** What the connector tells the session. Called synchronously, in this order per socket. */
export interface ConnectorHooks {
  /** A new attempt starts (fetching a token, then opening a socket). */
  connecting(): void
  /** The socket is open; the server's `hello` is next. */
  open(): void
  /** A Buffer from `ws` in Node; a string from the browser adapter (text frames). */
  frame(data: Uint8Array | string): void
  /** The socket is gone (what was in flight on it is lost); a reconnect or a stop follows. */
  lost(code: number): void
  /** Waiting before the next attempt (or refreshing the token at once after 4401). */
  reconnecting(): void
  /** The session is over for good. */
  stopped(code: number, reason: string, error: ChatClientError): void
  error(error: ChatClientError): void
}

/**
 * One WebSocket at a time, and what happens between them: token fetch, subprotocol or frame
 * auth, the close-code decision (reconnect with backoff, refresh the token once, or stop), URL
 * rotation, and an application keepalive. Knows nothing of frames beyond `auth` and `ping`.
 */
export class Connector {
  private ws: WebSocket | undefined
  private urlIndex = 0
  private attempt = 0
  private refreshedForAuth = false
  /** Set when we drop a socket ourselves (dead keepalive, failed resync): always reconnect. */
  private forceReconnect = false
  /** The next reconnect's wait is at least this (then it is back to the backoff alone). */
  private waitAtLeastMs = 0
  private handshakeStatus: number | undefined
  private closed = false
  private reconnectTimer: NodeJS.Timeout | undefined
  private pingTimer: NodeJS.Timeout | undefined
  private heardSincePing = true

  constructor(
    private readonly o: ConnectorOptions,
    private readonly hooks: ConnectorHooks,
  ) {
    if (o.urls.length === 0) throw new TypeError('ChatClient needs at least one URL')
  }

  /** The gateway URL of the current (or next) connection. */
  get url(): string {
    return this.o.urls[this.urlIndex % this.o.urls.length]!
  }

  start(): void {
    void this.openSocket(false)
  }

  /** Writes a text frame if a socket is open; false otherwise (the caller keeps what must survive). */
  send(text: string): boolean {
    const ws = this.ws
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) return false
    ws.send(text)
    return true
  }

  /** `hello` arrived: the token was good (a later 4401 may refresh again); keepalive starts. */
  authenticated(): void {
    this.refreshedForAuth = false
    this.startKeepalive()
  }

  /** The first sync completed: the connection proved healthy, so backoff starts over. */
  live(): void {
    this.attempt = 0
  }

  /**
   * Skips the wait before the next attempt (the app knows the network is back: a browser's
   * `online` event, a phone app coming to the foreground). Nothing happens while connected.
   */
  retryNow(): void {
    if (this.closed || this.reconnectTimer === undefined) return
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    void this.openSocket(false)
  }

  /**
   * Ends the current socket from our side; a reconnect follows, not before `waitAtLeastMs` (a
   * server that refused the sync as too busy says how long its line is: ADR 0172).
   */
  drop(waitAtLeastMs = 0): void {
    this.forceReconnect = true
    this.waitAtLeastMs = waitAtLeastMs
    this.ws?.terminate()
  }

  /** Closes with 1000 and never reconnects; resolves once the socket is closed. */
  close(): Promise<void> {
    this.closed = true
    clearTimeout(this.reconnectTimer)
    clearInterval(this.pingTimer)
    const ws = this.ws
    if (ws === undefined || ws.readyState === WebSocket.CLOSED) return Promise.resolve()
    const done = new Promise<void>((resolve) => ws.once('close', () => resolve()))
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate()
    else ws.close(1000)
    return done
  }

  private async openSocket(forceRefresh: boolean): Promise<void> {
    this.hooks.connecting()
    let token: string
    try {
      token = await this.o.token(forceRefresh)
    } catch (err) {
      if (this.closed) return
      // A provider that knows it cannot succeed (AuthApi.refresh rejecting with
      // INVALID_REFRESH_TOKEN, say) ends the session instead of looping.
      if (isChatClientError(err) && !err.retryable) {
        this.stop(4401, 'token provider gave up', err)
        return
      }
      this.hooks.error(
        new ChatClientError('UNAVAILABLE', `token provider failed: ${String(err)}`, { cause: err }),
      )
      this.scheduleReconnect()
      return
    }
    if (this.closed) return
    const frameAuth = this.o.auth === 'frame'
    this.handshakeStatus = undefined
    this.forceReconnect = false
    let ws: WebSocket
    try {
      ws = new WebSocket(this.url, frameAuth ? [SUBPROTOCOL] : [SUBPROTOCOL, `bearer.${token}`], {
        perMessageDeflate: false,
        handshakeTimeout: 10_000,
        maxPayload: this.o.maxPayload,
        ...(this.o.origin !== undefined ? { origin: this.o.origin } : {}),
      })
    } catch (err) {
      // ws throws at once for a malformed URL or a token that is not a valid header token:
      // no retry can fix either.
      this.stop(
        1006,
        'cannot open a WebSocket',
        new ChatClientError('INVALID_CONFIG', String(err), { cause: err }),
      )
      return
    }
    this.ws = ws
    // One closure per socket, not per frame; each checks it is still the current socket.
    ws.on('open', () => {
      if (ws !== this.ws) return
      if (frameAuth) ws.send(JSON.stringify({ type: 'auth', token }))
      this.hooks.open()
    })
    ws.on('message', (data: RawData) => {
      if (ws !== this.ws) return
      this.heardSincePing = true
      // binaryType is 'nodebuffer' (ws's default): text and binary frames arrive as one Buffer.
      this.hooks.frame(data as Buffer)
    })
    ws.on('unexpected-response', (_req, res) => {
      // With this listener ws leaves aborting to us; terminate() ends in 'close' (1006).
      this.handshakeStatus = res.statusCode
      res.resume()
      ws.terminate()
    })
    ws.on('error', () => {
      // Always followed by 'close', where the decision is made.
    })
    ws.on('close', (code: number, reason: Buffer) => this.onClose(ws, code, reason.toString()))
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (ws !== this.ws) return
    this.ws = undefined
    clearInterval(this.pingTimer)
    this.pingTimer = undefined
    this.hooks.lost(code)
    if (this.closed) return
    const action = this.decide(code)
    switch (action) {
      case 'refresh':
        this.refreshedForAuth = true
        this.hooks.reconnecting()
        void this.openSocket(true)
        return
      case 'reconnect':
        this.scheduleReconnect()
        return
      case 'stop':
        this.stop(code, reason, this.stopError(code, reason))
        return
      default:
        action satisfies never
    }
  }

  private decide(code: number): CloseAction {
    if (this.forceReconnect) return 'reconnect'
    const status = this.handshakeStatus
    if (status === undefined) return closeAction(code, this.refreshedForAuth)
    if (status === 401) return closeAction(4401, this.refreshedForAuth)
    // 403 (Origin not allowed), 400, 404: asking again will not help. 429 and 5xx may pass later.
    return status >= 400 && status < 500 && status !== 408 && status !== 429 ? 'stop' : 'reconnect'
  }

  private stopError(code: number, reason: string): ChatClientError {
    const status = this.handshakeStatus
    if (status === 401 || code === 4401) return new ChatClientError('UNAUTHENTICATED', reason || undefined)
    if (status !== undefined) return new ChatClientError('HANDSHAKE_REFUSED', `HTTP ${status} on upgrade`)
    return new ChatClientError('SESSION_ENDED', `closed with ${code}${reason ? `: ${reason}` : ''}`)
  }

  private scheduleReconnect(): void {
    if (this.attempt >= this.o.maxReconnectAttempts) {
      this.stop(1006, 'gave up reconnecting', new ChatClientError('UNAVAILABLE', 'gave up reconnecting'))
      return
    }
    // A server-given wait gets up to one base step of jitter, so a refused crowd does not return at once.
    const told =
      this.waitAtLeastMs > 0
        ? this.waitAtLeastMs + (this.o.random ?? Math.random)() * this.o.backoff.baseMs
        : 0
    this.waitAtLeastMs = 0
    const delay = Math.max(backoffDelay(this.attempt, this.o.backoff, this.o.random), told)
    this.attempt += 1
    // Without a load balancer in front, a dead gateway is left for the next one on the list.
    this.urlIndex += 1
    this.hooks.reconnecting()
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      if (!this.closed) void this.openSocket(false)
    }, delay)
  }

  private stop(code: number, reason: string, error: ChatClientError): void {
    this.closed = true
    clearTimeout(this.reconnectTimer)
    this.hooks.stopped(code, reason, error)
  }

  private startKeepalive(): void {
    const every = this.o.pingIntervalMs
    if (every <= 0) return
    clearInterval(this.pingTimer)
    this.heardSincePing = true
    // A second tick with no traffic since the last ping means the path is dead (a NAT dropped
    // it, the server hangs): TCP may take minutes to notice, we take two intervals.
    this.pingTimer = setInterval(() => {
      if (!this.heardSincePing) {
        this.drop()
        return
      }
      this.heardSincePing = false
      this.send('{"type":"ping"}')
    }, every)
    unref(this.pingTimer)
  }
}
