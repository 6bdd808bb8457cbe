import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import { FFMPEG } from './fixtures.js'

/**
 * HEIC photos as phones write them, made on the spot (nothing binary is committed): ffmpeg's
 * libx265 encodes the tiles (each an IDR picture), and this file wraps them in the HEIF boxes an
 * iPhone writes: a `grid` item of hidden `hvc1` tiles, `hvcC`/`ispe` per tile, on the grid an
 * `ispe`, a `colr` ICC profile and an `irot` rotation, and an `Exif` item (with its GPS).
 */
const run = promisify(execFile)

export interface HeicOptions {
  /** The picture, as stored (before irot). */
  png: Buffer
  width: number
  height: number
  /** Tiles per row and column (1×1: no grid, one coded image). */
  columns?: number
  rows?: number
  /** ICC profile for `colr`/`prof` (the pixels are taken to be in it). */
  icc?: Buffer
  /** Anticlockwise quarter turns to display it (`irot`). */
  irot?: 0 | 1 | 2 | 3
  /** Raw EXIF ("Exif\0\0" + TIFF) for an `Exif` item describing the image. */
  exif?: Buffer
}

const u8 = (n: number) => Buffer.from([n])
const u16 = (n: number) => {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
const box = (type: string, ...body: Buffer[]) => {
  const payload = Buffer.concat(body)
  return Buffer.concat([u32(8 + payload.length), Buffer.from(type, 'latin1'), payload])
}
const full = (type: string, version: number, flags: number, ...body: Buffer[]) =>
  box(type, u8(version), u8(flags >> 16), u16(flags & 0xffff), ...body)

/** NAL units of an Annex B stream (start codes removed). */
const nalUnits = (s: Buffer): Buffer[] => {
  const starts: number[] = []
  for (let i = 0; i + 2 < s.length; i++)
    if (s[i] === 0 && s[i + 1] === 0 && s[i + 2] === 1) {
      starts.push(i + 3)
      i += 2
    }
  return starts.map((from, k) => {
    let to = k + 1 < starts.length ? starts[k + 1]! - 3 : s.length
    while (to > from && s[to - 1] === 0) to-- // the zero of a 4-byte start code
    return s.subarray(from, to)
  })
}
const nalType = (n: Buffer) => (n[0]! >> 1) & 0x3f
const unescapeRbsp = (n: Buffer) => {
  const out: number[] = []
  for (let i = 0; i < n.length; i++) {
    if (i >= 2 && n[i] === 3 && n[i - 1] === 0 && n[i - 2] === 0) continue
    out.push(n[i]!)
  }
  return Buffer.from(out)
}

const hvcC = (vps: Buffer, sps: Buffer, pps: Buffer) => {
  // profile_tier_level's general part is bytes 1..12 of the SPS payload (after its 2-byte header).
  const ptl = unescapeRbsp(sps).subarray(3, 15)
  const array = (type: number, nal: Buffer) => Buffer.concat([u8(0x80 | type), u16(1), u16(nal.length), nal])
  return box(
    'hvcC',
    u8(1),
    ptl,
    Buffer.from([0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f]),
    u8(3),
    array(32, vps),
    array(33, sps),
    array(34, pps),
  )
}

export const heic = async (o: HeicOptions): Promise<Buffer> => {
  const columns = o.columns ?? 1
  const rows = o.rows ?? 1
  const tileW = o.width / columns
  const tileH = o.height / rows
  const dir = await mkdtemp(join(tmpdir(), 'heic-'))
  let stream: Buffer
  try {
    await sharp(o.png).toFile(join(dir, 'in.png'))
    await run(FFMPEG, [
      ...['-nostdin', '-v', 'error', '-y', '-i', join(dir, 'in.png')],
      ...(columns * rows > 1 ? ['-vf', `untile=${columns}x${rows}`] : []),
      ...['-c:v', 'libx265', '-pix_fmt', 'yuv420p', '-crf', '12'],
      ...['-x265-params', 'keyint=1:log-level=error', '-f', 'hevc', join(dir, 'out.hevc')],
    ])
    stream = await readFile(join(dir, 'out.hevc'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  const nals = nalUnits(stream)
  const find = (t: number) => nals.find((n) => nalType(n) === t)!
  const tiles = nals.filter((n) => nalType(n) < 32)
  if (tiles.length !== columns * rows)
    throw new Error(`${tiles.length} coded pictures for ${columns}x${rows}`)

  // Items: tiles 1..n, then the grid (if any), then Exif. Properties are 1-based.
  const grid = tiles.length > 1
  const tileIds = tiles.map((_, i) => i + 1)
  const primary = grid ? tiles.length + 1 : 1
  const exifId = o.exif ? primary + 1 : 0
  const ispe = (w: number, h: number) => full('ispe', 0, 0, u32(w), u32(h))
  const props = [hvcC(find(32), find(33), find(34)), ispe(tileW, tileH)]
  if (grid) props.push(ispe(o.width, o.height))
  const extra: number[] = []
  if (o.icc) extra.push(props.push(box('colr', Buffer.from('prof'), o.icc)))
  if (o.irot) extra.push(props.push(box('irot', u8(o.irot))))
  const assoc = (id: number, list: number[]) =>
    Buffer.concat([u16(id), u8(list.length), ...list.map((p) => u8(0x80 | p))])
  const ipma = full(
    'ipma',
    0,
    0,
    u32(tileIds.length + (grid ? 1 : 0)),
    ...tileIds.map((id) => assoc(id, grid ? [1, 2] : [1, 2, ...extra])),
    ...(grid ? [assoc(primary, [3, ...extra])] : []),
  )
  const infe = (id: number, type: string, hidden: boolean) =>
    full('infe', 2, hidden ? 1 : 0, u16(id), u16(0), Buffer.from(type), u8(0))
  const infes = [
    ...tileIds.map((id) => infe(id, 'hvc1', grid)),
    ...(grid ? [infe(primary, 'grid', false)] : []),
    ...(o.exif ? [infe(exifId, 'Exif', true)] : []),
  ]
  const refs = [
    ...(grid ? [box('dimg', u16(primary), u16(tileIds.length), ...tileIds.map(u16))] : []),
    ...(o.exif ? [box('cdsc', u16(exifId), u16(1), u16(primary))] : []),
  ]
  // Item data, in mdat order: length-prefixed NAL units per tile, the grid descriptor, Exif.
  const data: [number, Buffer][] = tiles.map((n, i) => [tileIds[i]!, Buffer.concat([u32(n.length), n])])
  if (grid)
    data.push([
      primary,
      Buffer.concat([u8(0), u8(0), u8(rows - 1), u8(columns - 1), u16(o.width), u16(o.height)]),
    ])
  if (o.exif) data.push([exifId, Buffer.concat([u32(6), o.exif])])
  const build = (mdatStart: number) => {
    let offset = mdatStart + 8
    const entries = data.map(([id, d]) => {
      const e = Buffer.concat([u16(id), u16(0), u16(1), u32(offset), u32(d.length)])
      offset += d.length
      return e
    })
    return full(
      'meta',
      0,
      0,
      full('hdlr', 0, 0, u32(0), Buffer.from('pict'), Buffer.alloc(12), u8(0)),
      full('pitm', 0, 0, u16(primary)),
      full('iinf', 0, 0, u16(infes.length), ...infes),
      ...(refs.length ? [full('iref', 0, 0, ...refs)] : []),
      box('iprp', box('ipco', ...props), ipma),
      full('iloc', 0, 0, u8(0x44), u8(0x00), u16(data.length), ...entries),
    )
  }
  const ftyp = box('ftyp', Buffer.from('heic'), u32(0), Buffer.from('mif1heic'))
  const meta = build(ftyp.length + build(0).length)
  return Buffer.concat([ftyp, meta, box('mdat', ...data.map(([, d]) => d))])
}
