import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import t from 'tap'
import {
  classifySharpError,
  decodeOnce,
  jpegShrink,
  placeholder,
  probeImage,
  renderImage,
  renderStills,
} from '../src/image.js'
import { png, pngBomb } from './support/fixtures.js'

t.test('maps sharp errors to stable codes', async (t) => {
  t.equal(classifySharpError(new Error('Input image exceeds pixel limit')).code, 'MEDIA_TOO_MANY_PIXELS')
  t.equal(classifySharpError(new Error('timeout: 12% complete')).code, 'MEDIA_TIMEOUT')
  t.equal(
    classifySharpError(new Error('Input buffer contains unsupported image format')).code,
    'MEDIA_UNSUPPORTED',
  )
  t.equal(
    classifySharpError(new Error('heif: Unsupported feature: Unsupported codec')).code,
    'MEDIA_UNSUPPORTED',
  )
  t.equal(classifySharpError(new Error('VipsJpeg: Premature end of input file')).code, 'MEDIA_CORRUPT')
  t.equal(classifySharpError('weird').code, 'MEDIA_CORRUPT')
})

t.test('refuses a declared bomb from its header, before decoding any pixel', async (t) => {
  const e = await probeImage(await pngBomb(50_000, 50_000), { maxPixels: 1_000_000 }).catch((x: unknown) => x)
  t.match(e, { code: 'MEDIA_TOO_MANY_PIXELS' })
  const decode = await renderImage(
    await png(2000, 2000),
    { name: 'thumb', op: 'image', format: 'webp', maxSide: 320, quality: 80 },
    { maxPixels: 1_000_000 },
  ).catch((x: unknown) => x)
  t.match(decode, { code: 'MEDIA_TOO_MANY_PIXELS' }, 'and the decoder enforces the limit too')
})

t.test('flattens transparency in the JPEG fallback and never enlarges', async (t) => {
  const out = await renderImage(
    await png(100, 50),
    { name: 'display-fallback', op: 'image', format: 'jpeg', maxSide: 1600, quality: 82 },
    { maxPixels: 1_000_000 },
  )
  t.same([out.width, out.height], [100, 50])
  const m = await sharp(out.data).metadata()
  t.equal(m.format, 'jpeg')
  t.equal(m.hasAlpha, false)
})

t.test('makes a placeholder of a few hundred bytes', async (t) => {
  const url = await placeholder(await png(400, 300), { maxPixels: 1_000_000 })
  t.match(url, /^data:image\/jpeg;base64,/)
  t.ok(url.length < 1500, `${url.length} characters`)
  const m = await sharp(Buffer.from(url.split(',')[1]!, 'base64')).metadata()
  t.ok(Math.max(m.width!, m.height!) <= 16)
})

t.test('decodes an original once, oriented and shrunk, and renders every variant from it', async (t) => {
  const limits = { maxPixels: 10_000_000 }
  // Stored 400×200 with EXIF orientation 6: displayed as 200×400.
  const jpeg = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#3366cc' } })
    .jpeg()
    .withMetadata({ orientation: 6 })
    .toBuffer()
  t.equal((await sharp(jpeg).metadata()).orientation, 6, 'the fixture carries its orientation')
  const base = await decodeOnce(jpeg, await probeImage(jpeg, limits), 100, limits)
  t.same([base.width, base.height, base.channels], [50, 100, 3], 'oriented, then shrunk to maxSide')
  const thumb = await renderImage(
    base,
    { name: 'thumb', op: 'image', format: 'webp', maxSide: 40, quality: 80 },
    limits,
  )
  t.same([thumb.width, thumb.height], [20, 40], 'a variant keeps the displayed orientation')
  const meta = await sharp(thumb.data).metadata()
  t.equal(meta.format, 'webp')
  t.equal(meta.orientation, undefined, 'and carries no EXIF orientation to apply twice')
  t.match(await placeholder(base, limits), /^data:image\/jpeg;base64,/)
  await t.rejects(
    decodeOnce(
      Buffer.from('not an image'),
      { ...(await probeImage(jpeg, limits)), format: 'png' },
      100,
      limits,
    ),
    { name: 'PermanentFailure' },
  )
})

t.test('every EXIF orientation comes out as sharp’s own auto-orientation does', async (t) => {
  const limits = { maxPixels: 10_000_000 }
  // Asymmetric: a red block in the top-left corner of a blue 300×200 picture.
  const source = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#2040c0' } })
    .composite([
      { input: { create: { width: 90, height: 60, channels: 3, background: '#e02020' } }, left: 0, top: 0 },
    ])
    .png()
    .toBuffer()
  for (let orientation = 1; orientation <= 8; orientation++) {
    const jpeg = await sharp(source).jpeg({ quality: 95 }).withMetadata({ orientation }).toBuffer()
    const mine = await decodeOnce(jpeg, await probeImage(jpeg, limits), 150, limits)
    const { data, info } = await sharp(jpeg)
      .rotate()
      .resize({ width: 150, height: 150, fit: 'inside' })
      .raw()
      .toBuffer({ resolveWithObject: true })
    t.same([mine.width, mine.height], [info.width, info.height], `orientation ${orientation}: size`)
    let diff = 0
    for (let i = 0; i < data.length; i++) diff += Math.abs(data[i]! - mine.data[i]!)
    t.ok(
      diff / data.length < 6,
      `orientation ${orientation}: same picture (mean difference ${(diff / data.length).toFixed(2)})`,
    )
  }
})

t.test('picks the JPEG shrink-on-load factor that keeps the largest variant sharp', async (t) => {
  t.equal(jpegShrink({ width: 4000, height: 3000, format: 'jpeg' }, 1600), 2, '12 MP → 2000 px, then 1600')
  t.equal(jpegShrink({ width: 3000, height: 4000, format: 'jpeg' }, 1600), 2, 'portrait the same')
  t.equal(jpegShrink({ width: 4000, height: 3000, format: 'jpeg' }, 320), 8, 'a thumbnail alone: 1/8')
  t.equal(jpegShrink({ width: 3000, height: 2000, format: 'jpeg' }, 1600), 1, '1500 px would be too small')
  t.equal(jpegShrink({ width: 800, height: 600, format: 'jpeg' }, 1600), 1, 'smaller than the box: full size')
  t.equal(jpegShrink({ width: 4000, height: 3000, format: 'png' }, 1600), 1, 'only JPEG scales in its DCT')
})

/** Mean absolute difference per channel value of two raw images of the same size. */
const meanDiff = (a: Buffer, b: Buffer) => {
  let d = 0
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i]! - b[i]!)
  return d / a.length
}

t.test('a large phone JPEG (P3 profile, orientation 6) decodes like sharp’s full pipeline', async (t) => {
  const limits = { maxPixels: 100_000_000 }
  const dir = await mkdtemp(join(tmpdir(), 'image-test-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  // Saturated content, where Display P3 and sRGB differ the most.
  const file = join(dir, 'photo.jpg')
  await sharp({ create: { width: 2400, height: 1800, channels: 3, background: '#20c040' } })
    .composite([
      {
        input: { create: { width: 1200, height: 900, channels: 3, background: '#e03010' } },
        left: 0,
        top: 0,
      },
      {
        input: { create: { width: 600, height: 900, channels: 3, background: '#1040e0' } },
        left: 1800,
        top: 900,
      },
    ])
    .jpeg({ quality: 92 })
    // withMetadata tags the output sRGB: the P3 profile must come after it.
    .withMetadata({ orientation: 6 })
    .withIccProfile('p3')
    .toFile(file)
  const probe = await probeImage(file, limits)
  t.match(probe, { width: 1800, height: 2400, format: 'jpeg', orientation: 6, hasProfile: true })
  t.equal(jpegShrink(probe, 1000), 2, 'decoded at half size')
  t.match(
    await sharp(`${file}[shrink=2]`).metadata(),
    { width: 1200, height: 900 },
    'libvips reads the shrink factor from the file name',
  )
  const mine = await decodeOnce(file, probe, 1000, limits)
  const ref = await sharp(file).rotate().resize({ width: 1000, height: 1000, fit: 'inside' }).raw().toBuffer({
    resolveWithObject: true,
  })
  t.same([mine.width, mine.height, mine.channels], [ref.info.width, ref.info.height, 3])
  const diff = meanDiff(mine.data, ref.data)
  t.ok(diff < 2, `same picture, converted to sRGB (mean difference ${diff.toFixed(2)})`)
  // The test can tell: the same pixels without the colour conversion differ much more.
  const unconverted = await sharp(file, { ignoreIcc: true })
    .rotate()
    .resize({ width: 1000, height: 1000, fit: 'inside' })
    .raw()
    .toBuffer()
  t.ok(meanDiff(unconverted, ref.data) > 3 * diff + 2, 'skipping the profile would show')
})

t.test('a CMYK JPEG becomes sRGB', async (t) => {
  const limits = { maxPixels: 10_000_000 }
  const cmyk = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#3070d0' } })
    .toColourspace('cmyk')
    .jpeg()
    .toBuffer()
  const probe = await probeImage(cmyk, limits)
  const mine = await decodeOnce(cmyk, probe, 300, limits)
  const ref = await sharp(cmyk).raw().toBuffer({ resolveWithObject: true })
  t.same([mine.channels, ref.info.channels], [3, 3])
  t.ok(meanDiff(mine.data, ref.data) < 2, 'as sharp converts it')
})

t.test('renders every still and the placeholder from one decode, in parallel', async (t) => {
  const limits = { maxPixels: 10_000_000 }
  const jpeg = await sharp({ create: { width: 900, height: 600, channels: 3, background: '#808040' } })
    .jpeg()
    .toBuffer()
  const still = (name: 'thumb' | 'display-fallback', format: 'webp' | 'jpeg', maxSide: number) =>
    ({ name, op: 'image', format, maxSide, quality: 80 }) as const
  const out = await renderStills(
    jpeg,
    await probeImage(jpeg, limits),
    [still('thumb', 'webp', 300), still('display-fallback', 'jpeg', 600)],
    limits,
  )
  t.same(
    out.renditions.map((r) => [r.rendition.name, r.out.width, r.out.height]),
    [
      ['thumb', 300, 200],
      ['display-fallback', 600, 400],
    ],
  )
  t.equal((await sharp(out.renditions[0]!.out.data).metadata()).format, 'webp')
  t.match(out.placeholder, /^data:image\/jpeg;base64,/)
})
