import type { Subscriber } from '../../src/feed/subscriber.js'

/**
 * A feed subscriber for tests that drive the feed without a socket: a synced device that accepts
 * every frame; a test overrides what it watches (its frames, its closes).
 */
export const testSubscriber = (userId: string, o: Partial<Subscriber> = {}): Subscriber => ({
  userId,
  deviceId: 'dev',
  synced: true,
  rooms: new Set(),
  closed: false,
  sendRaw: () => true,
  closeSlow: () => {},
  closeFailed: () => {},
  takeEcho: () => undefined,
  ownReceipt: () => 0,
  ...o,
})

/** A frame as JSON, whether a socket was handed text or the room's shared bytes. */
export const parseFrame = <T = { type: string; seq?: number; conversationId?: string }>(
  frame: string | Uint8Array,
): T => JSON.parse(typeof frame === 'string' ? frame : Buffer.from(frame).toString('utf8')) as T
