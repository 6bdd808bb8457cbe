/**
 * The parts of nats.js's (3.4.0, pinned) protocol handler that decide when its buffered commands
 * reach the socket. Not public API: `coalesceWrites` checks they are there and otherwise leaves
 * the connection as it is.
 */
interface Protocol {
  outbound: { length(): number; size(): number; fill(data: Uint8Array, ...more: Uint8Array[]): void }
  pendingLimit: number
  flushPending(): void
  sendCommand(cmd: string | Uint8Array, ...payloads: Uint8Array[]): void
}

const encoder = new TextEncoder()

/**
 * Writes a connection's buffered commands to the socket once per event-loop turn instead of once
 * per microtask checkpoint. nats.js flushes in a microtask after the first command of a batch,
 * and Node drains microtasks after every callback: the gateway, whose every incoming WebSocket
 * frame is its own callback, made one `write` syscall (and one promise) per publish — 7.8 % of
 * its CPU at 1,000 msg/s, as much as all of its JavaScript (profile in docs/benchmarks.md). With
 * `setImmediate` the commands of every callback of a turn's poll phase go out together in its
 * check phase, without waiting for anything: order is the buffer's, latency at most one turn.
 * The size threshold still flushes inline. Returns false (and changes nothing) when the
 * connection does not have the expected shape, e.g. after an upgrade of nats.js.
 */
export const coalesceWrites = (nc: object): boolean => {
  const p = (nc as { protocol?: Partial<Protocol> }).protocol
  if (
    !p ||
    typeof p.sendCommand !== 'function' ||
    typeof p.flushPending !== 'function' ||
    typeof p.pendingLimit !== 'number' ||
    typeof p.outbound?.length !== 'function' ||
    typeof p.outbound.fill !== 'function' ||
    typeof p.outbound.size !== 'function'
  )
    return false
  const proto = p as Protocol
  const flush = () => proto.flushPending()
  proto.sendCommand = (cmd, ...payloads) => {
    const empty = proto.outbound.length() === 0
    proto.outbound.fill(typeof cmd === 'string' ? encoder.encode(cmd) : cmd, ...payloads)
    // The first command after a drain schedules the write; the rest of the turn joins it.
    if (empty) setImmediate(flush)
    else if (proto.outbound.size() >= proto.pendingLimit) proto.flushPending()
  }
  return true
}
