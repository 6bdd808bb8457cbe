/**
 * Raw 8-bit pixels with an ICC profile, as an uncompressed baseline TIFF: the one container sharp
 * reads with a profile attached at the cost of a copy. Used where pixels arrive without one (a
 * HEIC decoded outside libvips) so the same sRGB conversion as every other image applies.
 */
export const tiffWithProfile = (
  px: { data: Uint8Array; width: number; height: number; channels: 3 | 4 },
  icc: Uint8Array,
): Buffer => {
  const n = px.channels
  const entries: [tag: number, type: number, count: number, value: number][] = []
  // Values that do not fit in 4 bytes live after the IFD: bits per sample, the profile, the pixels.
  const count = 10 + (n === 4 ? 1 : 0) + 1
  const ifdSize = 2 + count * 12 + 4
  let tail = 8 + ifdSize
  const bitsAt = tail
  tail += 2 * n
  const iccAt = tail
  tail += icc.length + (icc.length % 2)
  const pixelsAt = tail
  const SHORT = 3
  const LONG = 4
  const UNDEFINED = 7
  entries.push([256, LONG, 1, px.width])
  entries.push([257, LONG, 1, px.height])
  entries.push([258, SHORT, n, bitsAt])
  entries.push([259, SHORT, 1, 1]) // no compression
  entries.push([262, SHORT, 1, 2]) // RGB
  entries.push([273, LONG, 1, pixelsAt])
  entries.push([277, SHORT, 1, n])
  entries.push([278, LONG, 1, px.height])
  entries.push([279, LONG, 1, px.data.length])
  entries.push([284, SHORT, 1, 1]) // interleaved
  if (n === 4) entries.push([338, SHORT, 1, 2]) // unassociated alpha
  entries.push([34675, UNDEFINED, icc.length, iccAt])
  const head = Buffer.alloc(pixelsAt)
  head.write('MM', 0, 'latin1')
  head.writeUInt16BE(42, 2)
  head.writeUInt32BE(8, 4)
  head.writeUInt16BE(entries.length, 8)
  entries.forEach(([tag, type, cnt, value], i) => {
    const at = 10 + i * 12
    head.writeUInt16BE(tag, at)
    head.writeUInt16BE(type, at + 2)
    head.writeUInt32BE(cnt, at + 4)
    // A single SHORT sits in the first two bytes of the value field (big-endian).
    if (type === SHORT && cnt === 1) head.writeUInt16BE(value, at + 8)
    else head.writeUInt32BE(value >>> 0, at + 8)
  })
  head.writeUInt32BE(0, 10 + entries.length * 12) // no next IFD
  for (let i = 0; i < n; i++) head.writeUInt16BE(8, bitsAt + 2 * i)
  Buffer.from(icc.buffer, icc.byteOffset, icc.byteLength).copy(head, iccAt)
  return Buffer.concat([head, Buffer.from(px.data.buffer, px.data.byteOffset, px.data.byteLength)])
}
