/**
 * What the object store sent back for a (possibly ranged) GET, checked against what we asked for
 * and are about to announce: pure. A store may ignore a Range (s3rver reads `bytes=0-0` as
 * `bytes=0-`) or answer a wider one; the bytes we announce are then cut out of what it sent. A
 * reply that does not contain the requested bytes, or is of another object size, is an error:
 * the download must never carry bytes other than the ones its headers state.
 */
export type StoreWindow = { ok: true; skip: number; take: number } | { ok: false; reason: string }

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/

export const storeWindow = (
  wanted: { start: number; end: number } | undefined,
  total: number,
  reply: { contentRange?: string | undefined; contentLength?: number | undefined },
): StoreWindow => {
  let from = 0
  let to = total - 1
  if (reply.contentRange !== undefined) {
    const m = CONTENT_RANGE.exec(reply.contentRange.trim())
    if (!m) return { ok: false, reason: `unreadable Content-Range "${reply.contentRange}"` }
    if (m[3] !== '*' && Number(m[3]) !== total)
      return { ok: false, reason: `the object is ${m[3]} bytes, not ${total}` }
    from = Number(m[1])
    to = Number(m[2])
  }
  if (reply.contentLength !== undefined && reply.contentLength !== to - from + 1)
    return { ok: false, reason: `Content-Length ${reply.contentLength} does not match bytes ${from}-${to}` }
  const start = wanted?.start ?? 0
  const end = wanted?.end ?? total - 1
  if (start < from || end > to) return { ok: false, reason: `sent bytes ${from}-${to}, not ${start}-${end}` }
  return { ok: true, skip: start - from, take: end - start + 1 }
}
