import { errorBody, MediaId, UploadQuery } from '@chatapp/contracts'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { defineRoute, type HttpRoute, reply } from '../transport/http/route.js'
import type { MediaService } from './media-service.js'
import { attachmentDisposition, parseRange } from './range.js'
import { mayDownload } from './variant-access.js'

export interface MediaRoutesDeps {
  media: MediaService
  /** Largest body the transport lets through: the largest per-kind limit. */
  maxUploadBytes: number
}

const VARIANTS = new Set([
  'original',
  'thumb',
  'thumb-fallback',
  'display',
  'display-fallback',
  'video',
  'poster',
  'audio',
])
const isMediaId = TypeCompiler.Compile(MediaId)

/**
 * POST /v1/media (raw body; `?kind=document` to send any file as a document; `X-File-Name` for
 * a document's name) and GET /v1/media/:mediaId/:variant (the uploader, or a member of a
 * conversation where the media was shared, for the files `mayDownload` allows; anyone else gets
 * MEDIA_NOT_FOUND).
 */
export const mediaRoutes = (d: MediaRoutesDeps): HttpRoute[] => [
  defineRoute({
    method: 'POST',
    path: '/v1/media',
    auth: true,
    body: 'stream',
    maxBodyBytes: d.maxUploadBytes,
    query: UploadQuery,
    rateLimit: 'upload',
    rateLimitBy: 'user',
    handle: async (ctx) => {
      const res = await d.media.upload({
        userId: ctx.principal.userId,
        body: ctx.stream,
        requestedKind: ctx.query.kind,
        fileName: ctx.headers['x-file-name'],
        ...(ctx.contentLength !== undefined ? { declaredLength: ctx.contentLength } : {}),
        signal: ctx.signal,
      })
      ctx.log.info({ mediaId: res.mediaId, kind: res.kind, mime: res.mime, size: res.size }, 'media uploaded')
      return reply.json(res, 201)
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/v1/media/:mediaId/:variant',
    auth: true,
    body: 'none',
    handle: async (ctx) => {
      const { mediaId = '', variant = '' } = ctx.params
      if (!isMediaId.Check(mediaId) || !VARIANTS.has(variant)) return reply.error('MEDIA_NOT_FOUND')
      const row = await d.media.authorise(mediaId, ctx.principal.userId)
      // Not told apart from an unknown media: whether an original exists is not the member's business.
      if (!row || !mayDownload(row, variant, ctx.principal.userId)) return reply.error('MEDIA_NOT_FOUND')
      const dl = await d.media.open(row, variant, (size) => {
        const r = parseRange(ctx.headers.range, size)
        return r.kind === 'partial' ? { start: r.start, end: r.end } : r.kind
      })
      if (!dl) return reply.error('MEDIA_NOT_FOUND')
      if ('unsatisfiable' in dl) {
        // 416 must state the object's size: a header the catalogue's error reply cannot carry.
        return reply.json({ error: errorBody('RANGE_NOT_SATISFIABLE') }, 416, {
          'content-range': `bytes */${dl.total}`,
        })
      }
      if (ctx.signal.aborted) {
        dl.body.destroy()
        return reply.empty(499)
      }
      const headers: Record<string, string> = {
        'content-type': dl.mime,
        'accept-ranges': 'bytes',
        'cache-control': 'private, max-age=86400',
        // Nothing we serve is a page: no scripts, no plugins, no framing (the transport adds nosniff).
        'content-security-policy': "default-src 'none'; sandbox",
        ...(dl.etag ? { etag: dl.etag } : {}),
        ...(dl.range ? { 'content-range': `bytes ${dl.range.start}-${dl.range.end}/${dl.total}` } : {}),
        ...(dl.attachment || variant === 'original'
          ? { 'content-disposition': attachmentDisposition(dl.name) }
          : {}),
      }
      return reply.stream(dl.body, { status: dl.range ? 206 : 200, length: dl.length, headers })
    },
  }),
]
