import uWS from 'uWebSockets.js'
import { errorBody } from '@chatapp/contracts'
import type { Socket } from './socket.js'

/**
 * The WebSocket endpoint on uWebSockets.js: the only protocol file that imports uWS. Its rules
 * (STYLE.md) are enforced here so the protocol core never meets them: headers are copied out of
 * `req` before any `await`; `onAborted` is registered before it; writes after an `await` are
 * corked (the upgrade is answered synchronously); `send` results drive backpressure; a closed socket is never touched again.
 */

/** The upgrade's answer: refuse (HTTP status + body) or accept with the state `open` receives. */
export type UpgradeDecision<S> =
  | { ok: true; protocol: string | undefined; state: S }
  | { ok: false; status: number; body: string }

/** What the protocol core does with a socket; the transport calls it and nothing else. */
export interface WsHandlers<S, C> {
  /**
   * Decides the upgrade from the headers, synchronously: the upgrade is made inside uWS's own
   * callback. (After an await it would have to be corked, and in this uWS build a corked upgrade
   * completing in the same tick as others closes the new socket at birth, 1006; uncorked, uWS
   * prints a warning per upgrade. Slow checks — the token — belong in `open`.)
   */
  upgrade(h: { origin: string; host: string; protocols: string[]; ip: string }): UpgradeDecision<S>
  open(socket: Socket, state: S): C
  /** `binary`: the client sent a binary frame (the protocol is JSON in text frames). */
  message(conn: C, data: ArrayBuffer, binary: boolean): void
  close(conn: C, code: number): void
}

export interface WsOptions {
  path: string
  /** Frames above this are refused (FRAME_TOO_LARGE, close 1009) by the core. */
  maxFrameBytes: number
  /** Buffered bytes beyond which a socket is a slow consumer (closed with 4430). */
  maxBackpressure: number
  idleTimeoutS: number
}

/** Per-socket user data: one small object holding the protocol's connection. */
interface UserData {
  init: unknown
  conn: unknown
  sock: UwsSocket | undefined
}

const SLOW_CONSUMER = 4430

class UwsSocket implements Socket {
  closed = false
  constructor(
    private readonly ws: uWS.WebSocket<UserData>,
    private readonly limit: number,
  ) {}
  send(text: string | Uint8Array): boolean {
    if (this.closed) return false
    // 1: written whole, nothing buffered by it; only a built-up (0) or dropped (2) send needs the
    // buffered amount read (one native call less per socket of a room's fan-out).
    const r = this.ws.send(text, false, false)
    if (r === 2 || (r === 0 && this.ws.getBufferedAmount() > this.limit)) {
      this.close(SLOW_CONSUMER, 'slow consumer')
      return false
    }
    return true
  }
  close(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    try {
      this.ws.end(code, reason)
    } catch {
      // already closed by the peer: the close handler runs regardless
    }
  }
}

export const mountWebSocket = <S, C>(app: uWS.TemplatedApp, o: WsOptions, h: WsHandlers<S, C>): void => {
  app.ws<UserData>(o.path, {
    // uWS cuts a frame over its limit without a close frame (1006). It gets a hard cap of 4x the
    // limit, so an oversize frame below it is closed politely with 1009 by the core.
    maxPayloadLength: o.maxFrameBytes * 4,
    // uWS drops frames past this; our own check closes earlier with 4430 so nothing is lost silently.
    maxBackpressure: o.maxBackpressure * 2,
    closeOnBackpressureLimit: 0,
    idleTimeout: o.idleTimeoutS,
    sendPingsAutomatically: true,
    compression: uWS.DISABLED,
    upgrade: (res, req, context) => {
      const r = h.upgrade({
        origin: req.getHeader('origin'),
        host: req.getHeader('host'),
        protocols: req
          .getHeader('sec-websocket-protocol')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        ip: Buffer.from(res.getRemoteAddressAsText()).toString(),
      })
      if (!r.ok) {
        res.writeStatus(String(r.status)).writeHeader('content-type', 'application/json').end(r.body)
        return
      }
      res.upgrade<UserData>(
        { init: r.state, conn: undefined, sock: undefined },
        req.getHeader('sec-websocket-key'),
        r.protocol ?? '',
        req.getHeader('sec-websocket-extensions'),
        context,
      )
    },
    open: (ws) => {
      const ud = ws.getUserData()
      const sock = new UwsSocket(ws, o.maxBackpressure)
      ud.sock = sock
      ud.conn = h.open(sock, ud.init as S)
      ud.init = undefined
    },
    message: (ws, data, isBinary) => {
      const ud = ws.getUserData()
      if (data.byteLength > o.maxFrameBytes) {
        ud.sock?.send(JSON.stringify({ type: 'error', ...errorBody('FRAME_TOO_LARGE') }))
        ud.sock?.close(1009, 'frame too large')
        return
      }
      // `data` is only valid during this call; the core decodes it synchronously.
      h.message(ud.conn as C, data, isBinary)
    },
    close: (ws, code) => {
      const ud = ws.getUserData()
      if (ud.sock) ud.sock.closed = true
      h.close(ud.conn as C, code)
    },
  })
}

export type App = uWS.TemplatedApp

/** A uWS app listening on host:port (0 = any free port). */
export const listen = (
  app: uWS.TemplatedApp,
  host: string,
  port: number,
): Promise<{ port: number; close(): void }> =>
  new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (!token) return reject(new Error(`cannot listen on ${host}:${port}`))
      resolve({ port: uWS.us_socket_local_port(token), close: () => uWS.us_listen_socket_close(token) })
    })
  })

export const createApp = (): uWS.TemplatedApp => uWS.App()
