import type { MediaKind } from '@chatapp/contracts'
import { fileTypeFromBuffer } from 'file-type'

/**
 * What the bytes are, judged only by their content: the client's Content-Type and file name are
 * never trusted. The magic numbers are read by `file-type` (a maintained library, with its own
 * bounds on what hostile input may make it read or inflate); this file decides which of its
 * answers we accept, and adds the two judgements it does not make: whether a Matroska/WebM file
 * holds video or only audio, and that an ISO-BMFF file names a brand we know (file-type calls any
 * unknown brand MP4).
 */
export interface Sniffed {
  kind: MediaKind
  mime: string
}

/** How many leading bytes `sniff` looks at: file-type's detection size (EBML tracks sit a few KB in). */
export const SNIFF_BYTES = 4100

/** file-type's `ext` → what we store. Anything it recognises that is not here is refused. */
const ACCEPTED: Readonly<Record<string, Sniffed>> = {
  jpg: { kind: 'image', mime: 'image/jpeg' },
  png: { kind: 'image', mime: 'image/png' },
  gif: { kind: 'image', mime: 'image/gif' },
  webp: { kind: 'image', mime: 'image/webp' },
  avif: { kind: 'image', mime: 'image/avif' },
  heic: { kind: 'image', mime: 'image/heic' },
  mp4: { kind: 'video', mime: 'video/mp4' },
  m4v: { kind: 'video', mime: 'video/mp4' },
  mov: { kind: 'video', mime: 'video/quicktime' },
  '3gp': { kind: 'video', mime: 'video/3gpp' },
  '3g2': { kind: 'video', mime: 'video/3gpp' },
  webm: { kind: 'video', mime: 'video/webm' },
  mkv: { kind: 'video', mime: 'video/x-matroska' },
  m4a: { kind: 'audio', mime: 'audio/mp4' },
  m4b: { kind: 'audio', mime: 'audio/mp4' },
  f4a: { kind: 'audio', mime: 'audio/mp4' },
  opus: { kind: 'audio', mime: 'audio/ogg' },
  spx: { kind: 'audio', mime: 'audio/ogg' },
  ogg: { kind: 'audio', mime: 'audio/ogg' },
  oga: { kind: 'audio', mime: 'audio/ogg' },
  mp3: { kind: 'audio', mime: 'audio/mpeg' },
  aac: { kind: 'audio', mime: 'audio/aac' },
  wav: { kind: 'audio', mime: 'audio/wav' },
  pdf: { kind: 'document', mime: 'application/pdf' },
  zip: { kind: 'document', mime: 'application/zip' },
  docx: {
    kind: 'document',
    mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  },
  xlsx: { kind: 'document', mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' },
  pptx: {
    kind: 'document',
    mime: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  },
  odt: { kind: 'document', mime: 'application/vnd.oasis.opendocument.text' },
}

const ascii = (b: Uint8Array, at: number, len: number): string =>
  String.fromCharCode(...b.subarray(at, Math.min(at + len, b.length)))

/** The brands of an ISO-BMFF `ftyp` box: the major one first. */
const ftypBrands = (b: Uint8Array): string[] => {
  const boxSize = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0
  const brands = [ascii(b, 8, 4)]
  for (let at = 16; at + 4 <= Math.min(boxSize, b.length, 256); at += 4) brands.push(ascii(b, at, 4))
  return brands
}

/** Major brands of MP4 video that ffmpeg's mov demuxer reads; file-type calls every other one MP4 too. */
const MP4_BRANDS = new Set([
  'isom',
  'iso2',
  'iso4',
  'iso5',
  'iso6',
  'mp41',
  'mp42',
  'avc1',
  'dash',
  'mmp4',
  'MSNV',
  'f4v ',
])

/** A Matroska/WebM file with no video codec id in its track headers is audio (a WebM voice note). */
const ebmlAudioOnly = (b: Uint8Array): boolean => {
  const text = ascii(b, 0, b.length)
  return text.includes('A_') && !text.includes('V_')
}

const refine = (head: Uint8Array, ext: string, s: Sniffed): Sniffed | undefined => {
  switch (ext) {
    case 'mp4':
      return MP4_BRANDS.has(ftypBrands(head)[0]!) ? s : undefined
    case 'heic':
      // An image file whose brands name AV1 (`mif1` major, `avif` compatible) is AVIF.
      return ftypBrands(head).some((x) => x === 'avif' || x === 'avis') ? ACCEPTED.avif : s
    case 'webm':
    case 'mkv':
      return ebmlAudioOnly(head) ? { kind: 'audio', mime: 'audio/webm' } : s
    default:
      return s
  }
}

const isZip = (b: Uint8Array): boolean => b[0] === 0x50 && b[1] === 0x4b && b[2] === 3 && b[3] === 4

export const sniff = async (head: Uint8Array): Promise<Sniffed | undefined> => {
  let found: { ext: string } | undefined
  try {
    found = await fileTypeFromBuffer(head)
  } catch {
    // A parser limit or malformed structure in hostile input: not a format we recognise.
    found = undefined
  }
  const accepted = found && Object.hasOwn(ACCEPTED, found.ext) ? ACCEPTED[found.ext] : undefined
  if (accepted) return refine(head, found!.ext, accepted)
  // Other ZIP-based formats (ODS, EPUB, JAR…) are documents as plain ZIP archives, as before.
  return isZip(head) ? ACCEPTED.zip : undefined
}

/**
 * The kind and type an upload is stored as. A client may ask for `document` (send a photo "as a
 * file", or any other file); then anything is accepted and kept byte for byte, typed by its
 * content when recognised, else `application/octet-stream`. Otherwise the bytes decide, and a
 * requested kind that disagrees with them is refused.
 */
export const classifyUpload = async (
  head: Uint8Array,
  requested: MediaKind | undefined,
): Promise<{ ok: true; kind: MediaKind; mime: string } | { ok: false; reason: string }> => {
  const s = await sniff(head)
  if (requested === 'document')
    return { ok: true, kind: 'document', mime: s?.mime ?? 'application/octet-stream' }
  if (!s) return { ok: false, reason: 'the bytes are not a recognised image, video, audio or document' }
  if (s.kind === 'document')
    return requested === undefined
      ? { ok: true, kind: 'document', mime: s.mime }
      : { ok: false, reason: `the bytes are a document (${s.mime}), not ${requested}` }
  if (requested !== undefined && requested !== s.kind)
    return { ok: false, reason: `the bytes are ${s.kind} (${s.mime}), not ${requested}` }
  return { ok: true, kind: s.kind, mime: s.mime }
}
