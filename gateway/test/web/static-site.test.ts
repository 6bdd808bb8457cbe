import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'
import t from 'tap'
import { loadStaticSite } from '../../src/web/static-site.js'

const root = await mkdtemp(join(tmpdir(), 'chatapp-static-site-'))
t.teardown(() => rm(root, { recursive: true, force: true }))
await mkdir(join(root, 'assets'))
// Varied text, so that brotli's qualities give different bytes.
const script = Array.from({ length: 400 }, (_, i) => `const v${i} = ${(i * 7919) % 1000} * f(${i});`).join(
  '\n',
)
const css = Array.from({ length: 200 }, (_, i) => `.c${i}{margin:${i % 13}px ${i % 7}px}`).join('')
const brotli = (s: string, quality: number) =>
  brotliCompressSync(Buffer.from(s), { params: { [constants.BROTLI_PARAM_QUALITY]: quality } })
// What the build leaves: app.js with its .br (quality 1 here: unmistakably not start-up's own);
// app.css with a .br of other content (a file replaced after the build); page.html with none.
const builtBr = brotli(script, 1)
await writeFile(join(root, 'assets/app.js'), script)
await writeFile(join(root, 'assets/app.js.br'), builtBr)
await writeFile(join(root, 'assets/app.css'), css)
await writeFile(join(root, 'assets/app.css.br'), brotli(`${css}/* older */`, 11))
await writeFile(join(root, 'index.html'), `<!doctype html>${'<p>hello</p>'.repeat(50)}`)
const site = (await loadStaticSite(root))!

t.test('serves the brotli copy the build wrote instead of compressing at start-up', async (t) => {
  for (const q of [5, 11]) t.not(brotli(script, q).equals(builtBr), `(quality ${q} gives other bytes)`)
  t.same(site.files.get('/assets/app.js')?.br, builtBr)
  t.notOk(site.compressedAtStart.includes('/assets/app.js'))
})

t.test(
  'a copy that does not decode to its file is not served: the file is compressed at start',
  async (t) => {
    const br = site.files.get('/assets/app.css')?.br
    t.ok(br)
    t.equal(brotliDecompressSync(br!).toString(), css)
    t.same([...site.compressedAtStart].sort(), ['/', '/assets/app.css'])
  },
)

t.test('the build copies are not served under their own names', async (t) => {
  t.same([...site.files.keys()].sort(), ['/', '/assets/app.css', '/assets/app.js'])
})

const built = join(import.meta.dirname, '../../../web/dist/public')
const notBuilt = !existsSync(built) && 'the web app is not built (make build)'
t.test('the web app the build made needs no compression at start-up', { skip: notBuilt }, async (t) => {
  const real = (await loadStaticSite(built))!
  t.ok(real.files.size > 0)
  t.same(real.compressedAtStart, [], 'every text file has its .br from the build')
})
