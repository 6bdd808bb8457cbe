import { readFile } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'
import sharp from 'sharp'
import { PermanentFailure } from './failure.js'
import type { HeifReply, HeifRequest } from './heif-thread.js'

/**
 * HEIC/HEIF photos (what iPhones send). The sharp build in use has libheif without an HEVC
 * decoder (patents: its prebuilt binaries decode AVIF only), and Debian's ffmpeg 5.1 cannot read
 * HEIF's item-based images, so the worker decodes them with libheif-js: libheif and libde265
 * compiled to WebAssembly (ADR 0182). It runs in a worker thread, so a decode neither blocks the
 * event loop (job leases, NATS) nor outlives its time bound: the thread is terminated.
 */
export interface HeifImage {
  data: Buffer
  width: number
  height: number
  channels: 3 | 4
  /** The ICC profile to convert from, or undefined for sRGB. */
  icc?: Buffer
}

/** ITU-T H.273 colour primaries 12: Display P3 (SMPTE EG 432-1), what nclx-tagged phones use. */
const P3_PRIMARIES = 12
let p3Profile: Buffer | undefined
/** libvips' own Display P3 profile, read back from a 1-pixel image tagged with it. */
const displayP3 = async (): Promise<Buffer> => {
  p3Profile ??= (
    await sharp(
      await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000000' } })
        .withIccProfile('p3')
        .png()
        .toBuffer(),
    ).metadata()
  ).icc
  if (!p3Profile) throw new Error('sharp has no built-in P3 profile')
  return p3Profile
}

// The thread's module next to this one: heif-thread.js when built, heif-thread.ts under the
// test runner's TypeScript loader.
const THREAD = new URL(`./heif-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url)

export const decodeHeif = async (
  input: string | Buffer,
  l: { maxPixels: number; timeoutSeconds?: number },
): Promise<HeifImage> => {
  const bytes = typeof input === 'string' ? await readFile(input) : input
  const request: HeifRequest = { bytes: new Uint8Array(bytes), maxPixels: l.maxPixels }
  const reply = await new Promise<HeifReply>((resolve, reject) => {
    const worker = new Worker(THREAD, {
      workerData: request,
      // JS heap of the thread; the WebAssembly memory is capped by its build (2 GiB) and, in
      // practice, by the pixel limit checked before decoding.
      resourceLimits: { maxOldGenerationSizeMb: 128 },
      stdout: true,
      stderr: true,
    })
    let done = false
    const finish = (f: () => void) => {
      if (done) return
      done = true
      clearTimeout(timer)
      f()
    }
    const timer = setTimeout(
      () => {
        finish(() =>
          reject(new PermanentFailure('MEDIA_TIMEOUT', `heif decode exceeded ${l.timeoutSeconds ?? 60} s`)),
        )
        void worker.terminate()
      },
      (l.timeoutSeconds ?? 60) * 1000,
    )
    worker.once('message', (m: HeifReply) => finish(() => resolve(m)))
    worker.once('error', (e) =>
      finish(() =>
        reject(
          (e as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new PermanentFailure('MEDIA_TOO_MANY_PIXELS', 'heif decode ran out of memory', { cause: e })
            : new PermanentFailure('MEDIA_CORRUPT', `heif: ${e.message}`.slice(0, 500), { cause: e }),
        ),
      ),
    )
    worker.once('exit', (code) =>
      finish(() => reject(new PermanentFailure('MEDIA_CORRUPT', `heif decoder thread exited ${code}`))),
    )
  })
  if (!reply.ok) throw new PermanentFailure(reply.code, reply.message.slice(0, 500))
  const icc = reply.icc
    ? Buffer.from(reply.icc)
    : reply.primaries === P3_PRIMARIES
      ? await displayP3()
      : undefined
  return {
    data: Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength),
    width: reply.width,
    height: reply.height,
    channels: reply.channels,
    ...(icc ? { icc } : {}),
  }
}
