/**
 * What the feed needs of a connection: who it is, whether its sync has run, the rooms it is in,
 * and a way to send it frames. Implemented by session/connection.ts; the feed never imports the
 * session layer.
 */
export interface Subscriber {
  readonly userId: string
  readonly deviceId: string
  /** True once its `synced` was sent: from then on live events flow to it. */
  readonly synced: boolean
  /** Conversations this connection receives live events of (kept by the feed). */
  readonly rooms: Set<string>
  readonly closed: boolean
  /**
   * Sends a text frame already encoded: a string, or its UTF-8 bytes when one frame goes to a whole
   * room (encoded once, not once per socket). false when the socket is gone.
   */
  sendRaw(frame: string | Uint8Array): boolean
  /** Closes the socket: the connection read too slowly. */
  closeSlow(reason: string): void
  /** Closes the socket after a server failure it cannot recover here: the device reconnects and syncs. */
  closeFailed(reason: string): void
  /**
   * The `rid` of this connection's own send of `clientMsgId`, if it waits for its event to answer
   * it (one frame per event per socket: the echo of a send is its answer). Taken once.
   */
  takeEcho(conversationId: string, clientMsgId: string): string | undefined
  /** The highest receipt of `kind` this connection itself sent in the conversation (0: none). */
  ownReceipt(conversationId: string, kind: 'delivered' | 'read'): number
}
