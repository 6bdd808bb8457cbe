import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import sharp from 'sharp'
import t from 'tap'
import { sanitiseFileName } from '../../src/media/file-name.js'
import { classifyUpload, SNIFF_BYTES, sniff } from '../../src/media/sniff.js'

const bytes = (...parts: (string | number[] | Uint8Array)[]): Uint8Array =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))))
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
const le = (n: number, size: number) => [...Array(size)].map((_, i) => (n >>> (8 * i)) & 255)
const ftyp = (major: string, ...compatible: string[]) =>
  bytes(be32(16 + 4 * compatible.length), 'ftyp', major, [0, 0, 0, 0], ...compatible)
/** A ZIP archive's leading local file entries (stored, no compression): what sniffing reads. */
const zip = (...entries: [string, string][]) =>
  bytes(
    ...entries.flatMap(([name, data]) => [
      bytes([0x50, 0x4b, 3, 4], le(20, 2), le(0, 2), le(0, 2), le(0, 4), le(0, 4)),
      bytes(le(data.length, 4), le(data.length, 4), le(name.length, 2), le(0, 2), name, data),
    ]),
  )
const contentTypes = (part: string, type: string) =>
  `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/${part}" ContentType="${type}"/></Types>`

const run = promisify(execFile)
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg'
const dir = await mkdtemp(join(tmpdir(), 'sniff-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
/** A real file made by ffmpeg: sniffing reads real containers, not hand-made magic numbers. */
const av = async (file: string, ...args: string[]): Promise<Uint8Array> => {
  await run(FFMPEG, ['-nostdin', '-v', 'error', '-y', ...args, join(dir, file)])
  return (await readFile(join(dir, file))).subarray(0, SNIFF_BYTES)
}
const VIDEO = ['-f', 'lavfi', '-i', 'testsrc=s=64x48:d=0.5']
const SOUND = ['-f', 'lavfi', '-i', 'sine=d=0.5']
const picture = sharp({ create: { width: 8, height: 8, channels: 3, background: '#884422' } })

t.test('recognises every accepted format by its content', async (t) => {
  const cases: [string, Uint8Array, string | undefined][] = [
    ['JPEG', await picture.clone().jpeg().toBuffer(), 'image/jpeg'],
    ['PNG', await picture.clone().png().toBuffer(), 'image/png'],
    ['GIF', await picture.clone().gif().toBuffer(), 'image/gif'],
    ['WebP', await picture.clone().webp().toBuffer(), 'image/webp'],
    ['AVIF', await picture.clone().avif().toBuffer(), 'image/avif'],
    ['HEIC', ftyp('heic', 'mif1', 'heic'), 'image/heic'],
    ['HEIF mif1', ftyp('mif1', 'mif1'), 'image/heic'],
    ['HEIF sequence', ftyp('msf1', 'msf1'), 'image/heic'],
    ['AVIF via compatible brand', ftyp('mif1', 'avif'), 'image/avif'],
    ['MP4', await av('a.mp4', ...VIDEO), 'video/mp4'],
    ['MP4 brand mp42', ftyp('mp42', 'isom'), 'video/mp4'],
    ['M4V', ftyp('M4V ', 'M4V '), 'video/mp4'],
    ['MOV', await av('a.mov', ...VIDEO), 'video/quicktime'],
    [
      '3GP',
      await av('a.3gp', ...VIDEO.slice(0, 3), 'testsrc=s=176x144:d=0.5', '-c:v', 'mpeg4'),
      'video/3gpp',
    ],
    ['WebM video', await av('a.webm', ...VIDEO, '-c:v', 'libvpx-vp9'), 'video/webm'],
    ['Matroska video', await av('a.mkv', ...VIDEO), 'video/x-matroska'],
    ['WebM audio', await av('aa.webm', ...SOUND, '-c:a', 'libopus'), 'audio/webm'],
    ['Ogg Opus', await av('a.opus', ...SOUND, '-c:a', 'libopus', '-f', 'ogg'), 'audio/ogg'],
    ['Ogg Vorbis', await av('a.ogg', ...SOUND, '-c:a', 'libvorbis'), 'audio/ogg'],
    ['M4A', await av('a.m4a', ...SOUND, '-c:a', 'aac'), 'audio/mp4'],
    ['AAC ADTS', await av('a.aac', ...SOUND, '-c:a', 'aac', '-f', 'adts'), 'audio/aac'],
    ['MP3 with ID3', await av('a.mp3', ...SOUND), 'audio/mpeg'],
    ['MP3 without ID3', await av('b.mp3', ...SOUND, '-write_id3v2', '0'), 'audio/mpeg'],
    [
      'MP3 with an ID3 tag longer than the head',
      await av('c.mp3', ...SOUND, '-metadata', `comment=${'x'.repeat(9000)}`),
      'audio/mpeg',
    ],
    ['WAV', await av('a.wav', ...SOUND), 'audio/wav'],
    ['PDF', bytes('%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n'), 'application/pdf'],
    [
      'DOCX',
      zip(
        [
          '[Content_Types].xml',
          contentTypes(
            'word/document.xml',
            'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml',
          ),
        ],
        ['word/document.xml', '<w/>'],
      ),
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    ],
    [
      'XLSX',
      zip(
        [
          '[Content_Types].xml',
          contentTypes(
            'xl/workbook.xml',
            'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml',
          ),
        ],
        ['xl/workbook.xml', '<w/>'],
      ),
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    ],
    [
      'PPTX',
      zip(
        [
          '[Content_Types].xml',
          contentTypes(
            'ppt/presentation.xml',
            'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml',
          ),
        ],
        ['ppt/presentation.xml', '<w/>'],
      ),
      'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    ],
    [
      'ODT',
      zip(['mimetype', 'application/vnd.oasis.opendocument.text'], ['content.xml', '<x/>']),
      'application/vnd.oasis.opendocument.text',
    ],
    [
      'ODS, as a ZIP archive',
      zip(['mimetype', 'application/vnd.oasis.opendocument.spreadsheet'], ['content.xml', '<x/>']),
      'application/zip',
    ],
    ['ZIP', zip(['hello.txt', 'hi']), 'application/zip'],
    // Refused: recognised by file-type but not accepted here, or not recognised at all.
    ['RIFF AVI', bytes('RIFF', [0, 0, 0, 0], 'AVI LIST'), undefined],
    ['Ogg Theora video', await av('a.ogv', ...VIDEO, '-c:v', 'libtheora'), undefined],
    ['unknown ftyp brand (file-type says MP4)', ftyp('zzzz'), undefined],
    ['MPEG layer II', await av('a.mp2', ...SOUND, '-c:a', 'mp2', '-f', 'mp2'), undefined],
    ['BMP', bytes('BM', [0x3a, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0, 0x28, 0, 0, 0]), undefined],
    ['0xFF then nothing', bytes([0xff]), undefined],
    ['plain text', bytes('hello world'), undefined],
    ['HTML', bytes('<!doctype html><script>'), undefined],
    ['SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), undefined],
    ['empty', bytes(), undefined],
  ]
  for (const [label, head, mime] of cases) t.equal((await sniff(head))?.mime, mime, label)
})

t.test('hostile archive heads are judged without throwing or inflating without bound', async (t) => {
  // [Content_Types].xml claiming 4 GiB, and a deflated entry with garbage data.
  const lying = bytes(
    [0x50, 0x4b, 3, 4],
    le(20, 2),
    le(8, 2),
    le(8, 2),
    le(0, 4),
    le(0, 4),
    le(0xffffffff, 4),
    le(0xffffffff, 4),
    le(19, 2),
    le(0, 2),
    '[Content_Types].xml',
    Buffer.alloc(4000, 0xab),
  )
  t.equal((await sniff(lying))?.mime, 'application/zip')
  const before = process.memoryUsage().rss
  for (let i = 0; i < 50; i++) await sniff(lying)
  t.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, 'no runaway memory')
})

t.test('decides the kind from the bytes and refuses a requested kind that disagrees', async (t) => {
  const jpeg = await picture.clone().jpeg().toBuffer()
  t.same(await classifyUpload(jpeg, undefined), { ok: true, kind: 'image', mime: 'image/jpeg' })
  t.same(await classifyUpload(jpeg, 'image'), { ok: true, kind: 'image', mime: 'image/jpeg' })
  t.match(await classifyUpload(jpeg, 'video'), { ok: false, reason: /image \(image\/jpeg\), not video/ })
  t.match(await classifyUpload(bytes('%PDF-1.4'), 'image'), { ok: false, reason: /document/ })
  t.same(await classifyUpload(bytes('%PDF-1.4'), undefined), {
    ok: true,
    kind: 'document',
    mime: 'application/pdf',
  })
  t.match(await classifyUpload(bytes('<html>'), undefined), { ok: false })
  t.match(await classifyUpload(bytes('<html>'), 'image'), { ok: false })
})

t.test('accepts any bytes as a document when asked, typed by content when known', async (t) => {
  t.same(await classifyUpload(bytes('<html>'), 'document'), {
    ok: true,
    kind: 'document',
    mime: 'application/octet-stream',
  })
  t.same(await classifyUpload(bytes([0xff, 0xd8, 0xff]), 'document'), {
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
