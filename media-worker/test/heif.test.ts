import sharp from 'sharp'
import t from 'tap'
import { decodeHeif } from '../src/heif.js'
import { decodeOnce, probeImage } from '../src/image.js'
import { tiffWithProfile } from '../src/tiff.js'
import { heic } from './support/heic.js'

const limits = { maxPixels: 10_000_000 }

/** The picture as stored: a saturated green field with a red block top-left, a blue one bottom-right. */
const stored = async (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#20c040' } })
    .composite([
      {
        input: { create: { width: width / 4, height: height / 4, channels: 3, background: '#e03010' } },
        left: 0,
        top: 0,
      },
      {
        input: { create: { width: width / 4, height: height / 4, channels: 3, background: '#1040e0' } },
        left: (width * 3) / 4,
        top: (height * 3) / 4,
      },
    ])
    .png()
    .toBuffer()

const p3 = async () =>
  (
    await sharp(
      await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
        .withIccProfile('p3')
        .png()
        .toBuffer(),
    ).metadata()
  ).icc!

const meanDiff = (a: Buffer, b: Buffer) => {
  let d = 0
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i]! - b[i]!)
  return d / a.length
}

const gps = async () =>
  (
    await sharp(
      await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
        .jpeg()
        .withExif({
          IFD0: { Make: 'TestPhone', Orientation: '6' },
          IFD3: {
            GPSLatitudeRef: 'N',
            GPSLatitude: '51/1 30/1 0/1',
            GPSLongitudeRef: 'W',
            GPSLongitude: '0/1 7/1 0/1',
          },
        })
        .toBuffer(),
    ).metadata()
  ).exif!

t.test(
  'an iPhone-style HEIC (2×2 grid, Display P3, irot, EXIF with GPS) decodes upright and in sRGB',
  async (t) => {
    const png = await stored(640, 480)
    const icc = await p3()
    const file = await heic({
      png,
      width: 640,
      height: 480,
      columns: 2,
      rows: 2,
      icc,
      irot: 1,
      exif: await gps(),
    })
    const probe = await probeImage(file, limits)
    t.match(probe, {
      format: 'heif',
      compression: 'hevc',
      width: 480,
      height: 640,
      orientation: 1,
      hasProfile: true,
    })
    await t.rejects(
      sharp(file).raw().toBuffer(),
      /compression format has not been built in/,
      'sharp alone cannot',
    )

    const base = await decodeOnce(file, probe, 320, limits)
    t.same(
      [base.width, base.height, base.channels],
      [240, 320, 3],
      'turned a quarter anticlockwise (irot 1), fitted',
    )
    // The reference: the stored pixels read as Display P3, turned the same way, converted by sharp.
    const raw = await sharp(png).removeAlpha().raw().toBuffer()
    const ref = await sharp(tiffWithProfile({ data: raw, width: 640, height: 480, channels: 3 }, icc))
      .rotate(270)
      .resize({ width: 320, height: 320, fit: 'inside' })
      .raw()
      .toBuffer()
    const diff = meanDiff(base.data, ref)
    t.ok(diff < 4, `the same picture in sRGB (mean difference ${diff.toFixed(2)}; HEVC is lossy)`)
    const unconverted = await sharp(png)
      .rotate(270)
      .resize({ width: 320, height: 320, fit: 'inside' })
      .raw()
      .toBuffer()
    t.ok(meanDiff(base.data, unconverted) > diff + 5, 'without the profile it would differ')
    // Top-left of the upright picture is the stored top-right corner: green, not red or blue.
    t.ok(
      base.data[1]! > 150 && base.data[0]! < 100,
      `top-left pixel green (${[...base.data.subarray(0, 3)]})`,
    )
  },
)

t.test('refuses HEIC bombs, broken files and slow decodes with stable codes', async (t) => {
  const file = await heic({ png: await stored(256, 128), width: 256, height: 128 })
  const decoded = await decodeHeif(file, limits)
  t.same([decoded.width, decoded.height, decoded.channels, decoded.icc], [256, 128, 3, undefined])
  await t.rejects(
    decodeHeif(file, { maxPixels: 10_000 }),
    { code: 'MEDIA_TOO_MANY_PIXELS' },
    'pixel limit from the header',
  )
  await t.rejects(
    decodeHeif(file.subarray(0, file.length - 200), limits),
    { code: 'MEDIA_CORRUPT' },
    'truncated',
  )
  await t.rejects(decodeHeif(Buffer.from('not a heif file at all'), limits), {
    code: /MEDIA_(CORRUPT|UNSUPPORTED)/,
  })
  await t.rejects(
    decodeHeif(file, { ...limits, timeoutSeconds: 0.001 }),
    { code: 'MEDIA_TIMEOUT' },
    'the thread is ended',
  )
})
