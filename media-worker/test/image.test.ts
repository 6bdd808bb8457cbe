import sharp from 'sharp'
import t from 'tap'
import { classifySharpError, decodeOnce, placeholder, probeImage, renderImage } from '../src/image.js'
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
  const base = await decodeOnce(jpeg, 100, limits)
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
  await t.rejects(decodeOnce(Buffer.from('not an image'), 100, limits), { name: 'PermanentFailure' })
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
    const mine = await decodeOnce(jpeg, 150, limits)
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
