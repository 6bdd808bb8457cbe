import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliDecompressSync } from 'node:zlib'
import { createLogger } from '@chatapp/kit'
import t from 'tap'
import { createTokenService, generatePrivateKeyPem } from '../../src/accounts/token-service.js'
import { startHttpServer } from '../../src/transport/http/uws-http.js'
import { webRoutes } from '../../src/web/routes.js'
import { IMMUTABLE, loadStaticSite, REVALIDATE } from '../../src/web/static-site.js'

const root = await mkdtemp(join(tmpdir(), 'chatapp-web-site-'))
t.teardown(() => rm(root, { recursive: true, force: true }))
await mkdir(join(root, 'assets'))
const script = `console.log(${JSON.stringify('x'.repeat(2000))})`
await writeFile(
  join(root, 'index.html'),
  '<!doctype html><script type="module" src="/assets/app-AB12.js"></script>',
)
await writeFile(join(root, 'assets/app-AB12.js'), script)
await writeFile(join(root, 'assets/app-AB12.css'), 'body{color:red}')
await writeFile(join(root, 'assets/notes.exe'), 'MZ')

const site = (await loadStaticSite(root))!
const server = await startHttpServer({
  routes: webRoutes(site),
  deps: {
    tokens: await createTokenService({ privateKeyPem: generatePrivateKeyPem(), ttlS: 60 }),
    log: createLogger('test', 'silent'),
  },
})
t.teardown(() => server.close())
const base = `http://127.0.0.1:${server.port}`

t.test('serves the page at / with its CSP, revalidated on every visit', async (t) => {
  const r = await fetch(`${base}/`)
  t.equal(r.status, 200)
  t.equal(r.headers.get('content-type'), 'text/html; charset=utf-8')
  t.equal(r.headers.get('cache-control'), REVALIDATE)
  const csp = r.headers.get('content-security-policy') ?? ''
  for (const d of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"])
    t.ok(csp.includes(d), d)
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script, no eval')
  t.equal(r.headers.get('x-content-type-options'), 'nosniff')
  t.equal(r.headers.get('x-frame-options'), 'DENY')
  t.match(await r.text(), /app-AB12\.js/)
})

t.test(
  'serves hashed assets with their type and a year of immutable caching, brotli when accepted',
  async (t) => {
    const plain = await fetch(`${base}/assets/app-AB12.js`, { headers: { 'accept-encoding': 'identity' } })
    t.equal(plain.headers.get('content-type'), 'text/javascript; charset=utf-8')
    t.equal(plain.headers.get('cache-control'), IMMUTABLE)
    t.equal(plain.headers.get('content-encoding'), null)
    t.equal(await plain.text(), script)
    const css = await fetch(`${base}/assets/app-AB12.css`)
    t.equal(css.headers.get('content-type'), 'text/css; charset=utf-8')
    await css.arrayBuffer()

    // Raw bytes: fetch would decode brotli itself and hide what was sent.
    const { request } = await import('node:http')
    const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      request(`${base}/assets/app-AB12.js`, { headers: { 'accept-encoding': 'gzip, br' } }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }))
      })
        .on('error', reject)
        .end()
    })
    t.equal(raw.headers['content-encoding'], 'br')
    t.equal(raw.headers.vary, 'accept-encoding')
    t.ok(raw.body.length < script.length, 'compressed')
    t.equal(brotliDecompressSync(raw.body).toString(), script)
  },
)

t.test('answers 304 to a matching If-None-Match', async (t) => {
  const first = await fetch(`${base}/`)
  await first.arrayBuffer()
  const etag = first.headers.get('etag')!
  const again = await fetch(`${base}/`, { headers: { 'if-none-match': etag } })
  t.equal(again.status, 304)
})

t.test(
  'serves nothing but the built files: unknown names, unknown types and paths out of the folder are 404',
  async (t) => {
    for (const p of [
      '/assets/app-ZZZZ.js',
      '/assets/notes.exe',
      '/assets/..%2Findex.html',
      '/index.html',
      '/assets',
    ]) {
      const r = await fetch(`${base}${p}`)
      await r.arrayBuffer()
      t.equal(r.status, 404, p)
    }
  },
)

t.test('a gateway without a built web app has no site to serve', async (t) => {
  t.equal(await loadStaticSite(join(root, 'missing')), undefined)
})
