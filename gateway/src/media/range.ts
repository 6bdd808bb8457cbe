/**
 * `Range: bytes=…` for one object (RFC 9110 §14): one range, or none. Multiple ranges are
 * answered with the whole object (allowed by the RFC, and no media player asks for them).
 */
export type RangeResult =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' }

export const parseRange = (header: string | undefined, size: number): RangeResult => {
  if (header === undefined || header.trim() === '') return { kind: 'full' }
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  // Not a single byte range we understand: a server may ignore the header and send it all.
  if (!m) return { kind: 'full' }
  const [, a, b] = m
  if (a === '' && b === '') return { kind: 'full' }
  if (a === '') {
    // Suffix: the last N bytes.
    const n = Number(b)
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' }
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(a)
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1)
  if (!Number.isSafeInteger(start) || start >= size) return { kind: 'unsatisfiable' }
  if (end < start) return { kind: 'full' }
  return { kind: 'partial', start, end }
}

/** `Content-Disposition: attachment` with a quoted ASCII fallback and the UTF-8 name (RFC 6266). */
export const attachmentDisposition = (name: string | null | undefined): string => {
  if (!name) return 'attachment'
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
}
