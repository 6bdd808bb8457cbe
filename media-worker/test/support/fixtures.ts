import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'

/** Media fixtures, generated on the spot with sharp and ffmpeg: nothing binary is committed. */
const run = promisify(execFile)
export const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg'

/** An 800x600 JPEG stored sideways (EXIF orientation 6) with a GPS position in its EXIF. */
export const jpegWithGps = (): Promise<Buffer> =>
  sharp({ create: { width: 800, height: 600, channels: 3, background: '#3366aa' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .withExif({
      IFD0: { Make: 'TestCam' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '51/1 30/1 0/1',
        GPSLongitudeRef: 'W',
        GPSLongitude: '0/1 7/1 0/1',
      },
    })
    .toBuffer()

export const png = (width: number, height: number): Promise<Buffer> =>
  sharp({ create: { width, height, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } })
    .png()
    .toBuffer()

/** The GPS IFD pointer tag (0x8825) in little- or big-endian EXIF. */
export const hasGpsTag = (exif: Buffer | undefined): boolean =>
  exif !== undefined && (exif.includes(Buffer.from([0x25, 0x88])) || exif.includes(Buffer.from([0x88, 0x25])))

/**
 * A valid PNG whose header declares `width` x `height` but carries a tiny compressed body:
 * a decompression bomb as far as any decoder that trusts the header is concerned.
 */
export const pngBomb = async (width: number, height: number): Promise<Buffer> => {
  const real = await png(1, 1)
  const out = Buffer.from(real)
  // IHDR data starts at byte 16: width, height (big-endian); then fix the chunk's CRC.
  out.writeUInt32BE(width, 16)
  out.writeUInt32BE(height, 20)
  out.writeUInt32BE(crc32(out.subarray(12, 29)), 29)
  return out
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const crc32 = (b: Buffer): number => {
  let c = 0xffffffff
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** Runs ffmpeg with `args` writing `file` in a temp dir, and returns its bytes. */
export const ffmpegFixture = async (file: string, args: string[]): Promise<Buffer> => {
  const dir = await mkdtemp(join(tmpdir(), 'fixture-'))
  try {
    const out = join(dir, file)
    await run(FFMPEG, ['-nostdin', '-v', 'error', '-y', ...args, out])
    return await readFile(out)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** A 2 s 640x360 test pattern with a 440 Hz tone, H.264/AAC MP4 (or WebM VP8/Opus). */
export const video = (format: 'mp4' | 'webm' = 'mp4', size = '640x360'): Promise<Buffer> =>
  ffmpegFixture(`v.${format}`, [
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${size}:rate=15`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    '2',
    '-shortest',
    ...(format === 'mp4'
      ? ['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac']
      : ['-c:v', 'libvpx', '-deadline', 'realtime', '-c:a', 'libopus']),
  ])

/**
 * The same MP4 with its movie header (`mvhd`) declaring `ticks` of duration: a lie about length
 * that costs nothing to tell. Version 0 and 1 headers are both handled.
 */
export const declareDuration = (mp4: Buffer, ticks: number): Buffer => {
  const out = Buffer.from(mp4)
  const at = out.indexOf('mvhd')
  if (at < 0) throw new Error('no mvhd box')
  const version = out[at + 4]
  // version(1) flags(3), then creation and modification times (4 or 8 bytes each), timescale (4).
  const duration = version === 1 ? at + 8 + 16 + 4 : at + 8 + 8 + 4
  if (version === 1) out.writeBigUInt64BE(BigInt(ticks), duration)
  else out.writeUInt32BE(ticks, duration)
  return out
}

/** A 3 s tone whose loudness rises, so the waveform has a shape. */
export const audio = (format: 'ogg' | 'm4a' | 'mp3' | 'wav'): Promise<Buffer> => {
  const codec = { ogg: ['-c:a', 'libopus'], m4a: ['-c:a', 'aac'], mp3: ['-c:a', 'libmp3lame'], wav: [] }[
    format
  ]
  return ffmpegFixture(`a.${format}`, [
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=300:sample_rate=48000:duration=3',
    '-af',
    'volume=eval=frame:volume=t/3',
    ...codec,
  ])
}

/** A minimal valid one-page PDF, written by hand with a correct xref table. */
export const pdf = (): Buffer => {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>',
    '<< /Length 0 >>\nstream\n\nendstream',
  ]
  let body = '%PDF-1.4\n'
  const offsets: number[] = []
  objects.forEach((o, i) => {
    offsets.push(body.length)
    body += `${i + 1} 0 obj\n${o}\nendobj\n`
  })
  const xref = body.length
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`
  for (const off of offsets) body += `${String(off).padStart(10, '0')} 00000 n \n`
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`
  return Buffer.from(body, 'latin1')
}

/** An HLS playlist that points at a local file and a URL: must never be followed. */
export const hlsPlaylist = (): Buffer =>
  Buffer.from(
    '#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXTINF:1,\nhttp://169.254.169.254/latest\n#EXT-X-ENDLIST\n',
  )

/** An ffconcat script naming another local file. */
export const concatScript = (): Buffer => Buffer.from("ffconcat version 1.0\nfile '/etc/hostname'\n")
