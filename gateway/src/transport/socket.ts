/**
 * What the protocol needs of a WebSocket, so that only `transport.ts` knows uWebSockets.js.
 * Guarantees: `send` never throws (a closed socket drops the frame) and reports backpressure;
 * `close` is idempotent.
 */
export interface Socket {
  /**
   * Queues a text frame: a string, or UTF-8 bytes (a frame shared by many sockets is encoded once).
   * false: the socket is closed or its buffer overflowed (it is then closed with 4430).
   */
  send(text: string | Uint8Array): boolean
  close(code: number, reason: string): void
  readonly closed: boolean
}
