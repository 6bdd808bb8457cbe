import t from 'tap'
import { classifyUpload, sanitiseFileName, sniff } from '../../src/media/sniff.js'

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))))
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
const ftyp = (major: string, ...compatible: string[]) =>
  bytes(be32(16 + 4 * compatible.length), 'ftyp', major, [0, 0, 0, 0], ...compatible)

t.test('recognises every accepted format by its magic bytes', async (t) => {
  const cases: [string, Uint8Array, string | undefined][] = [
    ['JPEG', bytes([0xff, 0xd8, 0xff, 0xe0]), 'image/jpeg'],
    ['PNG', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'image/png'],
    ['GIF87a', bytes('GIF87a'), 'image/gif'],
    ['GIF89a', bytes('GIF89a'), 'image/gif'],
    ['WebP', bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 '), 'image/webp'],
    ['WAV', bytes('RIFF', [0, 0, 0, 0], 'WAVEfmt '), 'audio/wav'],
    ['HEIC', ftyp('heic', 'mif1', 'heic'), 'image/heic'],
    ['HEIF mif1', ftyp('mif1', 'mif1'), 'image/heic'],
    ['AVIF', ftyp('avif', 'mif1', 'avif'), 'image/avif'],
    ['AVIF via compatible brand', ftyp('mif1', 'avif'), 'image/avif'],
    ['MP4', ftyp('isom', 'isom', 'mp41'), 'video/mp4'],
    ['MOV', ftyp('qt  ', 'qt  '), 'video/quicktime'],
    ['3GP', ftyp('3gp5', '3gp5'), 'video/3gpp'],
    ['M4A', ftyp('M4A ', 'M4A ', 'mp42'), 'audio/mp4'],
    ['WebM video', bytes([0x1a, 0x45, 0xdf, 0xa3], 'webm....V_VP9'), 'video/webm'],
    ['Matroska video', bytes([0x1a, 0x45, 0xdf, 0xa3], 'matroska..V_MPEG4'), 'video/x-matroska'],
    ['WebM audio', bytes([0x1a, 0x45, 0xdf, 0xa3], 'webm....A_OPUS'), 'audio/webm'],
    ['EBML without tracks', bytes([0x1a, 0x45, 0xdf, 0xa3], 'webm'), 'video/webm'],
    ['Ogg', bytes('OggS', [0, 2]), 'audio/ogg'],
    ['MP3 with ID3', bytes('ID3', [4, 0]), 'audio/mpeg'],
    ['MP3 frame sync', bytes([0xff, 0xfb, 0x90, 0x64]), 'audio/mpeg'],
    ['AAC ADTS', bytes([0xff, 0xf1, 0x50, 0x80]), 'audio/aac'],
    ['PDF', bytes('%PDF-1.7\n'), 'application/pdf'],
    [
      'DOCX',
      bytes([0x50, 0x4b, 3, 4], '....[Content_Types].xml....word/document.xml'),
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    ],
    [
      'XLSX',
      bytes([0x50, 0x4b, 3, 4], '....xl/workbook.xml'),
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    ],
    [
      'PPTX',
      bytes([0x50, 0x4b, 3, 4], '....ppt/presentation.xml'),
      'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    ],
    [
      'ODT',
      bytes([0x50, 0x4b, 3, 4], 'mimetypeapplication/vnd.oasis.opendocument.text'),
      'application/vnd.oasis.opendocument.text',
    ],
    ['ZIP', bytes([0x50, 0x4b, 3, 4], 'hello.txt'), 'application/zip'],
    ['RIFF AVI', bytes('RIFF', [0, 0, 0, 0], 'AVI '), undefined],
    ['unknown ftyp brand', ftyp('zzzz'), undefined],
    ['MPEG layer II sync', bytes([0xff, 0xfd]), undefined],
    ['0xFF then nothing', bytes([0xff]), undefined],
    ['plain text', bytes('hello world'), undefined],
    ['HTML', bytes('<!doctype html><script>'), undefined],
    ['empty', bytes(), undefined],
  ]
  for (const [label, head, mime] of cases) t.equal(sniff(head)?.mime, mime, label)
})

t.test('decides the kind from the bytes and refuses a requested kind that disagrees', async (t) => {
  const jpeg = bytes([0xff, 0xd8, 0xff, 0xe0])
  t.same(classifyUpload(jpeg, undefined), { ok: true, kind: 'image', mime: 'image/jpeg' })
  t.same(classifyUpload(jpeg, 'image'), { ok: true, kind: 'image', mime: 'image/jpeg' })
  t.match(classifyUpload(jpeg, 'video'), { ok: false, reason: /image \(image\/jpeg\), not video/ })
  t.match(classifyUpload(bytes('%PDF-1.4'), 'image'), { ok: false, reason: /document/ })
  t.same(classifyUpload(bytes('%PDF-1.4'), undefined), {
    ok: true,
    kind: 'document',
    mime: 'application/pdf',
  })
  t.match(classifyUpload(bytes('<html>'), undefined), { ok: false })
  t.match(classifyUpload(bytes('<html>'), 'image'), { ok: false })
})

t.test('accepts any bytes as a document when asked, typed by content when known', async (t) => {
  t.same(classifyUpload(bytes('<html>'), 'document'), {
    ok: true,
    kind: 'document',
    mime: 'application/octet-stream',
  })
  t.same(classifyUpload(bytes([0xff, 0xd8, 0xff]), 'document'), {
    ok: true,
    kind: 'document',
    mime: 'image/jpeg',
  })
})

t.test('keeps only a safe base name of a document', async (t) => {
  t.equal(sanitiseFileName(undefined), undefined)
  t.equal(sanitiseFileName('report.pdf'), 'report.pdf')
  t.equal(sanitiseFileName('../../etc/passwd'), 'passwd')
  t.equal(sanitiseFileName('C:\\Users\\me\\notes.txt'), 'notes.txt')
  t.equal(sanitiseFileName('Caf%C3%A9%20menu.pdf'), 'Café menu.pdf')
  t.equal(sanitiseFileName('bad%ZZname'), 'bad%ZZname')
  t.equal(sanitiseFileName('a"b<c>\u0001.pdf'), 'a_b_c__.pdf')
  t.equal(sanitiseFileName('...hidden'), 'hidden')
  t.equal(sanitiseFileName('   '), undefined)
  t.equal(sanitiseFileName('x'.repeat(300))?.length, 255)
})

t.test('strips bidi and other invisible format characters from a name', async (t) => {
  t.equal(sanitiseFileName('invoice\u202Efdp.exe'), 'invoicefdp.exe', 'RIGHT-TO-LEFT OVERRIDE')
  t.equal(sanitiseFileName(encodeURIComponent('invoice\u202Efdp.exe')), 'invoicefdp.exe', 'percent-encoded')
  for (const ch of [
    '\u202A',
    '\u202B',
    '\u202C',
    '\u202D',
    '\u2066',
    '\u2067',
    '\u2068',
    '\u2069',
    '\u200E',
    '\u200F',
    '\u061C',
    '\u200B',
    '\u2060',
    '\uFEFF',
    '\u00AD',
    '\u2028',
    '\u2029',
    '\u0085',
    '\u009B',
    '\u{E0041}',
  ])
    t.equal(sanitiseFileName(`a${ch}b.pdf`), 'ab.pdf', `U+${ch.codePointAt(0)!.toString(16).toUpperCase()}`)
  t.equal(sanitiseFileName('\u202E\u202E'), undefined, 'nothing left')
  t.equal(sanitiseFileName('a\uD800b.txt'), 'ab.txt', 'a lone surrogate')
  t.equal(sanitiseFileName('نامه\u200Cها.pdf'), 'نامه\u200Cها.pdf', 'ZWNJ stays (Persian)')
  t.equal(sanitiseFileName('👩\u200D💻 notes.txt'), '👩\u200D💻 notes.txt', 'ZWJ stays (emoji)')
})
