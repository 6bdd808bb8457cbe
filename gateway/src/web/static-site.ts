import { readdir, readFile, stat } from 'node:fs/promises'
import { extname, join, relative, sep } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib'

/**
 * The web app's built files (web/dist/public), read once at start-up and held in memory: a few
 * hundred KiB, served without a disk read per request, with the brotli copy the build wrote.
 *
 * Caching follows from the build's naming: everything under `assets/` has a content hash in its
 * name, so it is cached for a year and never revalidated; `index.html` names the current assets,
 * so it is revalidated every time (`no-cache`) and a new deployment is picked up at once.
 */
export interface StaticFile {
  body: Buffer
  /** Brotli of `body` when that is smaller (text formats), else undefined. */
  br: Buffer | undefined
  contentType: string
  cacheControl: string
  etag: string
}

export interface StaticSite {
  /** By URL path (`/`, `/assets/app-3F2K1.js`). */
  readonly files: ReadonlyMap<string, StaticFile>
  /**
   * URL paths of text files that came without a usable `.br` from the build and were compressed
   * at start-up instead (a build from before the build wrote them, a folder made by hand).
   */
  readonly compressedAtStart: readonly string[]
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.map', '.webmanifest', '.txt'])

/**
 * Start-up does not compress at brotli's best quality: that costs about 6 CPU-seconds per MiB
 * (the app's source map alone took ~6 s here), paid on every start before the ops port opened,
 * so a gateway starting beside other work answered /readyz a minute late. The build writes
 * `<file>.br` at quality 11 once (web/scripts/build.mjs); a file without one is compressed at
 * this quality, which costs milliseconds for the whole app (its output is 9-14 % larger).
 */
const START_QUALITY = 5
/** The suffix of the build's precompressed copies (served in place of the file, never by name). */
export const PRECOMPRESSED = '.br'

export const IMMUTABLE = 'public, max-age=31536000, immutable'
export const REVALIDATE = 'no-cache'

const walk = async (dir: string): Promise<string[]> => {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await walk(p)))
    else if (entry.isFile()) out.push(p)
  }
  return out
}

/** Reads `root`; undefined when it does not exist (a gateway without the web app built). */
export const loadStaticSite = async (root: string): Promise<StaticSite | undefined> => {
  const info = await stat(root).catch(() => undefined)
  if (!info?.isDirectory()) return undefined
  const files = new Map<string, StaticFile>()
  const compressedAtStart: string[] = []
  for (const path of await walk(root)) {
    const ext = extname(path).toLowerCase()
    const contentType = TYPES[ext]
    if (contentType === undefined) continue // only what we know how to label is served (no `.br`)
    const rel = relative(root, path).split(sep).join('/')
    const body = await readFile(path)
    const urlPath = rel === 'index.html' ? '/' : `/${rel}`
    let br: Buffer | undefined
    if (COMPRESSIBLE.has(ext)) {
      let c = await precompressed(path, body)
      if (c === undefined) {
        c = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: START_QUALITY } })
        compressedAtStart.push(urlPath)
      }
      if (c.length < body.length) br = c
    }
    const etag = `"${body.length.toString(36)}-${hash(body)}"`
    files.set(urlPath, {
      body,
      br,
      contentType,
      cacheControl: rel.startsWith('assets/') ? IMMUTABLE : REVALIDATE,
      etag,
    })
  }
  return { files, compressedAtStart }
}

/**
 * The build's `<path>.br`, when it decodes to exactly `body`: a stale or damaged copy (a file
 * replaced by hand after the build) is never served. Decoding takes milliseconds.
 */
const precompressed = async (path: string, body: Buffer): Promise<Buffer | undefined> => {
  const c = await readFile(path + PRECOMPRESSED).catch(() => undefined)
  if (c === undefined) return undefined
  try {
    return brotliDecompressSync(c).equals(body) ? c : undefined
  } catch {
    return undefined
  }
}

/** FNV-1a over the bytes: an ETag needs to change with the content, not to resist forgery. */
const hash = (b: Buffer): string => {
  let h = 0x811c9dc5
  for (const x of b) h = Math.imul(h ^ x, 0x01000193)
  return (h >>> 0).toString(36)
}
