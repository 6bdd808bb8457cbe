import { Session } from 'node:inspector/promises'
import type { Readable } from 'node:stream'
import { getHeapSnapshot } from 'node:v8'

/**
 * Memory debugging for the ops endpoints: `/debug/gc` runs a full garbage collection (through
 * the inspector, so the process needs no `--expose-gc`) and answers the memory after it, which is
 * what a per-connection memory measurement compares; `/debug/heap-snapshot` streams a V8 heap
 * snapshot (opens in Chrome DevTools' Memory tab), to see what the memory is made of.
 */
export interface MemoryAfterGc {
  rssBytes: number
  heapUsedBytes: number
  heapTotalBytes: number
  externalBytes: number
  arrayBuffersBytes: number
}

export const collectGarbage = async (): Promise<MemoryAfterGc> => {
  const session = new Session()
  session.connect()
  try {
    await session.post('HeapProfiler.collectGarbage')
  } finally {
    session.disconnect()
  }
  const m = process.memoryUsage()
  return {
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    externalBytes: m.external,
    arrayBuffersBytes: m.arrayBuffers,
  }
}

/** A heap snapshot as a stream (it blocks the event loop while V8 writes it: seconds for a large heap). */
export const heapSnapshot = (): Readable => getHeapSnapshot()
