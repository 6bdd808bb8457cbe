import { Readable } from 'node:stream'
import { defineRoute, type HttpRoute, reply } from '../transport/http/route.js'
import { PAGE_HEADERS } from './page-headers.js'
import type { StaticFile, StaticSite } from './static-site.js'

const serve = (file: StaticFile | undefined, headers: Readonly<Record<string, string>>) => {
  if (file === undefined) return reply.error('NOT_FOUND')
  const common = {
    'content-type': file.contentType,
    'cache-control': file.cacheControl,
    etag: file.etag,
    vary: 'accept-encoding',
    ...PAGE_HEADERS,
  }
  if (headers['if-none-match'] === file.etag) return reply.empty(304, common)
  const br = file.br !== undefined && /\bbr\b/.test(headers['accept-encoding'] ?? '')
  const body = br ? file.br! : file.body
  return reply.stream(Readable.from([body]), {
    length: body.length,
    headers: br ? { ...common, 'content-encoding': 'br' } : common,
  })
}

/**
 * The web app on the API's origin: `GET /` (the page) and `GET /assets/:file` (hashed bundles).
 * Same origin, so the page needs no CORS and its WebSocket passes the Origin check by itself.
 */
export const webRoutes = (site: StaticSite): HttpRoute[] => [
  defineRoute({
    method: 'GET',
    path: '/',
    auth: false,
    body: 'none',
    handle: async (ctx) => serve(site.files.get('/'), ctx.headers),
  }),
  defineRoute({
    method: 'GET',
    path: '/assets/:file',
    auth: false,
    body: 'none',
    handle: async (ctx) => serve(site.files.get(`/assets/${ctx.params.file}`), ctx.headers),
  }),
]
