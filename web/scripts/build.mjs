// Builds the web app into web/dist/public: index.html plus content-hashed assets (served by the
// gateway at / with a year of caching for assets/, revalidation for the page). Run by `make build`
// after `tsc -b` (the client library is bundled from its compiled output).
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, extname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { brotliCompress, constants } from 'node:zlib'
import * as esbuild from 'esbuild'

const web = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(web, 'dist/public')
const client = join(web, '../client/dist/browser')

await rm(out, { recursive: true, force: true })
await mkdir(join(out, 'assets'), { recursive: true })

const result = await esbuild.build({
  entryPoints: { app: join(web, 'src/main.tsx') },
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'],
  platform: 'browser',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
  // The client library's two Node-only imports, swapped for their browser adapters (client/src/browser).
  alias: {
    ws: join(client, 'ws.js'),
    '@sinclair/typebox/compiler': join(client, 'typebox-compiler.js'),
  },
})

const outputs = Object.keys(result.metafile.outputs).map((p) => `/${relative(out, p).split('\\').join('/')}`)
const pick = (ext) => {
  const found = outputs.find((p) => p.endsWith(ext))
  if (!found) throw new Error(`the build made no ${ext}`)
  return found
}
const icon = await readFile(join(web, 'src/icon.svg'))
const iconName = `/assets/icon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`
await writeFile(join(out, iconName), icon)

const html = (await readFile(join(web, 'src/index.html'), 'utf8'))
  .replace('%JS%', pick('.js'))
  .replace('%CSS%', pick('.css'))
  .replace('%ICON%', iconName)
await writeFile(join(out, 'index.html'), html)

// A brotli copy beside every text file, made once here so the gateway's start-up only reads it
// (gateway/src/web/static-site.ts: compressing at start cost seconds of CPU before /readyz).
// Quality 11 for what browsers fetch; 9 for source maps, fetched by devtools only, where 11
// takes ~13 times as long (6 s for the app's map) for a copy 9 % smaller.
const QUALITY = { '.html': 11, '.js': 11, '.css': 11, '.svg': 11, '.map': 9 }
const compress = promisify(brotliCompress)
for (const entry of await readdir(out, { recursive: true, withFileTypes: true })) {
  const quality = QUALITY[extname(entry.name)]
  if (!entry.isFile() || quality === undefined) continue
  const path = join(entry.parentPath ?? entry.path, entry.name)
  const br = await compress(await readFile(path), { params: { [constants.BROTLI_PARAM_QUALITY]: quality } })
  await writeFile(`${path}.br`, br)
}

const size = (p) => result.metafile.outputs[relative(process.cwd(), join(out, p.slice(1)))]?.bytes ?? 0
console.log(
  `web: ${pick('.js')} ${Math.round(size(pick('.js')) / 1024)} KiB, ${pick('.css')} → ${relative(process.cwd(), out)}`,
)
