import type { MediaKind } from '@chatapp/contracts'

/**
 * What the bytes are, judged only by their magic numbers: the client's Content-Type and file
 * name are never trusted. Pure; `SNIFF_BYTES` of the head of a file are enough for every format
 * recognised here.
 */
export interface Sniffed {
  kind: MediaKind
  mime: string
}

/** How many leading bytes `sniff` looks at (EBML track headers may sit a few KB in). */
export const SNIFF_BYTES = 4096

const ascii = (b: Uint8Array, at: number, len: number): string => {
  let s = ''
  for (let i = at; i < at + len && i < b.length; i++) s += String.fromCharCode(b[i]!)
  return s
}

const startsWith = (b: Uint8Array, bytes: readonly number[], at = 0): boolean =>
  b.length >= at + bytes.length && bytes.every((x, i) => b[at + i] === x)

const contains = (b: Uint8Array, needle: string): boolean => ascii(b, 0, b.length).includes(needle)

const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'])
const AVIF_BRANDS = new Set(['avif', 'avis'])
const M4A_BRANDS = new Set(['M4A ', 'M4B ', 'M4P ', 'F4A '])
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
  'M4V ',
  'M4VH',
  'f4v ',
])

/** ISO base media (`ftyp` box): the major brand and the compatible brands decide. */
const sniffFtyp = (b: Uint8Array): Sniffed | undefined => {
  if (ascii(b, 4, 4) !== 'ftyp') return undefined
  const boxSize = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0
  const major = ascii(b, 8, 4)
  const brands = [major]
  for (let at = 16; at + 4 <= Math.min(boxSize, b.length, 256); at += 4) brands.push(ascii(b, at, 4))
  if (brands.some((x) => AVIF_BRANDS.has(x))) return { kind: 'image', mime: 'image/avif' }
  if (HEIC_BRANDS.has(major) || brands.some((x) => x === 'heic' || x === 'heix'))
    return { kind: 'image', mime: 'image/heic' }
  if (M4A_BRANDS.has(major)) return { kind: 'audio', mime: 'audio/mp4' }
  if (major === 'qt  ') return { kind: 'video', mime: 'video/quicktime' }
  if (major.startsWith('3g')) return { kind: 'video', mime: 'video/3gpp' }
  if (MP4_BRANDS.has(major)) return { kind: 'video', mime: 'video/mp4' }
  return undefined
}

/** EBML (Matroska/WebM): a video codec id in the track headers makes it video, else audio. */
const sniffEbml = (b: Uint8Array): Sniffed | undefined => {
  if (!startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) return undefined
  const webm = contains(b, 'webm')
  if (contains(b, 'V_')) return { kind: 'video', mime: webm ? 'video/webm' : 'video/x-matroska' }
  if (contains(b, 'A_')) return { kind: 'audio', mime: 'audio/webm' }
  return { kind: 'video', mime: webm ? 'video/webm' : 'video/x-matroska' }
}

/** ZIP-based office documents name their parts near the start of the archive. */
const sniffZip = (b: Uint8Array): Sniffed | undefined => {
  if (!startsWith(b, [0x50, 0x4b, 0x03, 0x04])) return undefined
  if (contains(b, 'word/'))
    return {
      kind: 'document',
      mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    }
  if (contains(b, 'xl/'))
    return { kind: 'document', mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' }
  if (contains(b, 'ppt/'))
    return {
      kind: 'document',
      mime: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    }
  if (contains(b, 'mimetypeapplication/vnd.oasis.opendocument.text'))
    return { kind: 'document', mime: 'application/vnd.oasis.opendocument.text' }
  return { kind: 'document', mime: 'application/zip' }
}

/** MPEG audio frame sync: 11 set bits, then version and layer. Layer III is MP3, layer "00" is ADTS AAC. */
const sniffMpegAudio = (b: Uint8Array): Sniffed | undefined => {
  if (b.length < 2 || b[0] !== 0xff) return undefined
  const b1 = b[1]!
  if ((b1 & 0xf6) === 0xf0) return { kind: 'audio', mime: 'audio/aac' }
  if ((b1 & 0xe0) === 0xe0 && (b1 & 0x06) === 0x02 && (b1 & 0x18) !== 0x08)
    return { kind: 'audio', mime: 'audio/mpeg' }
  return undefined
}

export const sniff = (head: Uint8Array): Sniffed | undefined => {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: 'image', mime: 'image/jpeg' }
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return { kind: 'image', mime: 'image/png' }
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a')
    return { kind: 'image', mime: 'image/gif' }
  if (ascii(head, 0, 4) === 'RIFF') {
    const form = ascii(head, 8, 4)
    if (form === 'WEBP') return { kind: 'image', mime: 'image/webp' }
    if (form === 'WAVE') return { kind: 'audio', mime: 'audio/wav' }
    return undefined
  }
  if (ascii(head, 0, 4) === 'OggS') return { kind: 'audio', mime: 'audio/ogg' }
  if (ascii(head, 0, 3) === 'ID3') return { kind: 'audio', mime: 'audio/mpeg' }
  if (ascii(head, 0, 5) === '%PDF-') return { kind: 'document', mime: 'application/pdf' }
  return sniffFtyp(head) ?? sniffEbml(head) ?? sniffZip(head) ?? sniffMpegAudio(head)
}

/**
 * The kind and type an upload is stored as. A client may ask for `document` (send a photo "as a
 * file", or any other file); then anything is accepted and kept byte for byte, typed by its
 * content when recognised, else `application/octet-stream`. Otherwise the bytes decide, and a
 * requested kind that disagrees with them is refused.
 */
export const classifyUpload = (
  head: Uint8Array,
  requested: MediaKind | undefined,
): { ok: true; kind: MediaKind; mime: string } | { ok: false; reason: string } => {
  const s = sniff(head)
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

/**
 * Invisible characters that change how a name reads without being part of it: bidi controls
 * (U+202E makes `invoice\u202Efdp.exe` display as `invoiceexe.pdf`), other format characters
 * (zero-width spaces, word joiners, BOM, soft hyphen, tag characters), line and paragraph
 * separators, C1 controls and lone surrogates. ZWNJ and ZWJ (U+200C, U+200D) stay: Persian,
 * Indic scripts and emoji sequences need them, and they reorder nothing.
 */
const INVISIBLE = /(?![\u200c\u200d])[\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u0080-\u009f]/gu

/**
 * A file name safe to echo in Content-Disposition and to show: no paths, controls, quotes or
 * invisible format characters (see INVISIBLE); at most 255 chars.
 */
export const sanitiseFileName = (raw: string | undefined): string | undefined => {
  if (raw === undefined) return undefined
  let name = raw
  try {
    name = decodeURIComponent(raw)
  } catch {
    // not percent-encoded: use it as it is
  }
  const base = (name.split(/[/\\]/).pop() ?? '').replace(INVISIBLE, '')
  const cleaned = [...base]
    .map((ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f || '"<>|:*?'.includes(ch) ? '_' : ch))
    .join('')
    .replace(/^\.+/, '')
    .trim()
    .slice(0, 255)
  return cleaned === '' ? undefined : cleaned
}
