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
