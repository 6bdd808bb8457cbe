import type { Readable } from 'node:stream'
import { Readable as ReadableStream } from 'node:stream'

/**
 * `take` bytes of `source` after skipping `skip`, as a Readable with backpressure. The source is
 * destroyed as soon as the window is complete (its connection to the store is released rather
 * than drained) and when the window is destroyed early. A source that ends before the window is
 * full ends the window early: the transport then sees fewer bytes than announced and drops the
 * connection instead of passing a truncated body off as whole.
 */
export const byteWindow = (source: Readable, skip: number, take: number): Readable => {
  let toSkip = skip
  let left = take
  let complete = false
  const out = new ReadableStream({
    read() {
      if (!complete) source.resume()
    },
    destroy(err, cb) {
      source.destroy()
      cb(err)
    },
  })
  const finish = () => {
    complete = true
    source.destroy()
    out.push(null)
  }
  source.on('data', (chunk: Buffer) => {
    if (complete) return
    let c = chunk
    if (toSkip > 0) {
      const n = Math.min(toSkip, c.length)
      toSkip -= n
      c = c.subarray(n)
    }
    if (c.length === 0) return
    if (c.length > left) c = c.subarray(0, left)
    left -= c.length
    const more = out.push(c)
    if (left === 0) finish()
    else if (!more) source.pause()
  })
  source.on('end', () => {
    if (!complete) {
      complete = true
      out.push(null)
    }
  })
  // Destroying the source once the window is complete may make it report an abort: not ours.
  source.on('error', (e) => {
    if (!complete) out.destroy(e)
  })
  if (left === 0) finish()
  return out
}
