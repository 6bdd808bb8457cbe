import { createRequire } from 'node:module'
import { parentPort, workerData } from 'node:worker_threads'

/**
 * Runs in a worker thread (heif.ts): decodes the primary image of a HEIF file with libheif and
 * libde265 compiled to WebAssembly (libheif-js), whose memory is a bounded sandbox that a hostile
 * file cannot escape. Checks the pixel count from the header before decoding anything.
 */
export interface HeifRequest {
  bytes: Uint8Array
  maxPixels: number
}

export type HeifReply =
  | {
      ok: true
      width: number
      height: number
      channels: 3 | 4
      data: Uint8Array
      /** The ICC profile, raw (`prof`/`rICC`), or undefined. */
      icc?: Uint8Array
      /** nclx colour primaries (ITU-T H.273) when there is no ICC profile. */
      primaries?: number
    }
  | { ok: false; code: 'MEDIA_CORRUPT' | 'MEDIA_UNSUPPORTED' | 'MEDIA_TOO_MANY_PIXELS'; message: string }

// biome-ignore lint/suspicious/noExplicitAny: libheif-js's embind module has no usable types.
type Lib = any
const lib: Lib = createRequire(import.meta.url)('libheif-js/wasm-bundle')

const fourcc = (s: string) =>
  (s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)

/** heif_error codes: 3 unsupported filetype, 4 unsupported feature; suberror 1000 security limit. */
const refusal = (
  e: { code?: { value?: number }; subcode?: { value?: number }; message?: string },
  what: string,
) => {
  const code = e?.code?.value
  const sub = e?.subcode?.value
  const message = `heif: ${what}: ${e?.message ?? 'failed'}`
  if (sub === 1000) return { ok: false, code: 'MEDIA_TOO_MANY_PIXELS', message } as const
  if (code === 3 || code === 4 || code === 7)
    return { ok: false, code: 'MEDIA_UNSUPPORTED', message } as const
  return { ok: false, code: 'MEDIA_CORRUPT', message } as const
}

const profileOf = (handlePtr: number): { icc?: Uint8Array; primaries?: number } => {
  const type = lib._heif_image_handle_get_color_profile_type(handlePtr) >>> 0
  const err = lib._malloc(16)
  try {
    if (type === fourcc('prof') || type === fourcc('rICC')) {
      const size = lib._heif_image_handle_get_raw_color_profile_size(handlePtr)
      const out = lib._malloc(size)
      try {
        lib._heif_image_handle_get_raw_color_profile(err, handlePtr, out)
        if (lib.HEAP32[err >> 2] !== 0) return {}
        return { icc: new Uint8Array(lib.HEAPU8.subarray(out, out + size)) }
      } finally {
        lib._free(out)
      }
    }
    if (type === fourcc('nclx')) {
      const out = lib._malloc(4)
      try {
        lib._heif_image_handle_get_nclx_color_profile(err, handlePtr, out)
        if (lib.HEAP32[err >> 2] !== 0) return {}
        const nclx = lib.HEAPU32[out >> 2]
        // struct heif_color_profile_nclx { uint8_t version; enum color_primaries; … }
        const primaries = lib.HEAP32[(nclx + 4) >> 2]
        lib._heif_nclx_color_profile_free(nclx)
        return { primaries }
      } finally {
        lib._free(out)
      }
    }
    return {}
  } finally {
    lib._free(err)
  }
}

const decode = ({ bytes, maxPixels }: HeifRequest): { reply: HeifReply; transfer: ArrayBuffer[] } => {
  const ctx = lib.heif_context_alloc()
  try {
    const read = lib.heif_context_read_from_memory(ctx, bytes)
    if (read.code?.value !== 0) return { reply: refusal(read, 'read'), transfer: [] }
    const handle = lib.heif_js_context_get_primary_image_handle(ctx)
    if (!handle || handle.code) return { reply: refusal(handle, 'primary image'), transfer: [] }
    try {
      const width = lib.heif_image_handle_get_width(handle)
      const height = lib.heif_image_handle_get_height(handle)
      if (!(width > 0 && height > 0))
        return { reply: { ok: false, code: 'MEDIA_CORRUPT', message: 'heif: no dimensions' }, transfer: [] }
      if (width * height > maxPixels)
        return {
          reply: {
            ok: false,
            code: 'MEDIA_TOO_MANY_PIXELS',
            message: `${width}x${height} exceeds ${maxPixels} pixels`,
          },
          transfer: [],
        }
      const alpha = !!lib.heif_image_handle_has_alpha_channel(handle)
      const channels = alpha ? 4 : 3
      const img = lib.heif_js_decode_image2(
        handle,
        lib.heif_colorspace.heif_colorspace_RGB,
        alpha ? lib.heif_chroma.heif_chroma_interleaved_RGBA : lib.heif_chroma.heif_chroma_interleaved_RGB,
      )
      if (!img || img.code || !img.channels) return { reply: refusal(img, 'decode'), transfer: [] }
      try {
        const plane = img.channels.find(
          (c: { id: unknown }) => c.id === lib.heif_channel.heif_channel_interleaved,
        )
        if (!plane || plane.width !== width || plane.height !== height)
          return { reply: { ok: false, code: 'MEDIA_CORRUPT', message: 'heif: no RGB plane' }, transfer: [] }
        const row = width * channels
        const data = new Uint8Array(row * height)
        const src: Uint8Array = plane.data
        for (let y = 0; y < height; y++)
          data.set(src.subarray(y * plane.stride, y * plane.stride + row), y * row)
        const profile = profileOf(handle.$$.ptr)
        return {
          reply: { ok: true, width, height, channels, data, ...profile },
          transfer: [data.buffer, ...(profile.icc ? [profile.icc.buffer as ArrayBuffer] : [])],
        }
      } finally {
        lib.heif_image_release(img.image)
      }
    } finally {
      lib.heif_image_handle_release(handle)
    }
  } finally {
    lib.heif_context_free(ctx)
  }
}

if (parentPort) {
  let out: { reply: HeifReply; transfer: ArrayBuffer[] }
  try {
    out = decode(workerData as HeifRequest)
  } catch (e) {
    out = {
      reply: { ok: false, code: 'MEDIA_CORRUPT', message: `heif: ${String((e as Error)?.message ?? e)}` },
      transfer: [],
    }
  }
  parentPort.postMessage(out.reply, out.transfer)
}
