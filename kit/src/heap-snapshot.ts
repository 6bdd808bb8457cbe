import type { Readable } from 'node:stream'
import { getHeapSnapshot } from 'node:v8'

/**
 * For the ops endpoint `/debug/heap-snapshot`: a V8 heap snapshot as a stream (opens in Chrome
 * DevTools' Memory tab), to see what the memory `/debug/heap` reports is made of — e.g. which
 * objects a gateway holds per connection. V8 stops the process while it writes the snapshot.
 */
export const heapSnapshot = (): Readable => getHeapSnapshot()
