import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** Memory of the process right after a full garbage collection. */
export interface HeapAfterGc {
  heapUsedBytes: number
  heapTotalBytes: number
  externalBytes: number
  arrayBuffersBytes: number
  rssBytes: number
}

let gc: (() => void) | undefined

/**
 * For the ops endpoint `/debug/heap`: a full GC, then `process.memoryUsage()`. Whether a process
 * leaks is a question about what survives a GC — RSS alone mixes in garbage not yet collected and
 * memory the allocator keeps. The GC function is obtained at first use (V8's `--expose-gc` flag
 * set at runtime, read from a fresh context), so no service needs to start with a flag.
 */
export const heapAfterGc = (): HeapAfterGc => {
  if (!gc) {
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as () => void
  }
  gc()
  const m = process.memoryUsage()
  return {
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    externalBytes: m.external,
    arrayBuffersBytes: m.arrayBuffers,
    rssBytes: m.rss,
  }
}
