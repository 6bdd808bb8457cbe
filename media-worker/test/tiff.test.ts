import sharp from 'sharp'
import t from 'tap'
import { tiffWithProfile } from '../src/tiff.js'

const p3 = async () =>
  (
    await sharp(
      await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
        .withIccProfile('p3')
        .png()
        .toBuffer(),
    ).metadata()
  ).icc!

for (const channels of [3, 4] as const) {
  t.test(`sharp reads ${channels}-channel pixels and their profile back unchanged`, async (t) => {
    const width = 7
    const height = 5
    const data = Buffer.alloc(width * height * channels)
    for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 256
    const icc = await p3()
    const tiff = tiffWithProfile({ data, width, height, channels }, icc)
    const m = await sharp(tiff).metadata()
    t.match(m, { format: 'tiff', width, height, channels })
    t.ok(m.icc?.equals(icc), 'the profile is attached')
    const back = await sharp(tiff, { ignoreIcc: true }).raw().toBuffer()
    t.ok(back.equals(data), 'the pixels are the same')
  })
}
