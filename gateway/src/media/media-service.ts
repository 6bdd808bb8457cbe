import { randomBytes } from 'node:crypto'
import type { Readable } from 'node:stream'
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3'
import {
  ChatError,
  type MediaKind,
  type MediaRef,
  mediaKeys,
  type Names,
  type UploadResponse,
} from '@chatapp/contracts'
import type { MediaPort, MembershipPort } from '../ports.js'
import { byteWindow } from './byte-window.js'
import type { MediaRow } from './entities.js'
import { sanitiseFileName } from './file-name.js'
import type { MediaRepo } from './media-repo.js'
import { storeWindow } from './store-range.js'
import { streamToS3, type UploadLimits } from './upload.js'
import type { UploadLedger } from './upload-ledger.js'
import { RESERVE_SLAB } from './upload-quota.js'

/**
 * An unattached upload this close to its expiry can no longer be attached: the sweeper may be
 * deleting it, and a send takes a moment between checking the media and the views recording
 * the share (the sweeper also waits for the views to catch up with the log, upload-sweeper.ts).
 */
export const ATTACH_MARGIN_MS = 10 * 60_000

export interface MediaServiceDeps {
  repo: MediaRepo
  /** Per-user upload quotas (upload-ledger.ts); also decides when an unattached upload expires. */
  ledger: UploadLedger
  s3: S3Client
  names: Names
  membership: Pick<MembershipPort, 'joinedAt'>
  limits: UploadLimits
  now?: () => number
  newMediaId?: () => string
}

/** What a download serves: the object's bytes (or a range of them) and how to label them. */
export interface Download {
  body: Readable
  /** Bytes in this response. */
  length: number
  /** Size of the whole object. */
  total: number
  range: { start: number; end: number } | undefined
  mime: string
  etag: string | undefined
  /** Documents are never rendered inline from our origin. */
  attachment: boolean
  name: string | null
}

/** Conversations checked per download, at most: a media forwarded further than that is rare. */
const MAX_SHARES_CHECKED = 200

export const newMediaId = (): string => `m_${randomBytes(16).toString('base64url')}`

export interface MediaService extends MediaPort {
  upload(input: {
    userId: string
    body: Readable
    requestedKind: MediaKind | undefined
    fileName: string | undefined
    declaredLength?: number
    signal?: AbortSignal
  }): Promise<UploadResponse>
  /** The media as `userId` may download it, or undefined: unknown and forbidden look the same. */
  authorise(mediaId: string, userId: string): Promise<MediaRow | undefined>
  /** Opens the original or a variant; `range` is resolved against the object's size by `pickRange`. */
  open(
    row: MediaRow,
    variant: string,
    pickRange: (size: number) => { start: number; end: number } | 'full' | 'unsatisfiable',
  ): Promise<Download | { unsatisfiable: true; total: number } | undefined>
}

const isMissing = (e: unknown): boolean => {
  const name = (e as { name?: string })?.name
  return (
    name === 'NoSuchKey' ||
    name === 'NotFound' ||
    (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404
  )
}

export const createMediaService = (d: MediaServiceDeps): MediaService => {
  const now = d.now ?? Date.now
  const nextId = d.newMediaId ?? newMediaId
  const bucket = d.names.s3Bucket

  const toRef = (row: MediaRow): MediaRef => ({
    mediaId: row.id,
    kind: row.kind as MediaKind,
    mime: row.mime,
    size: row.size,
    ...(row.name ? { name: row.name } : {}),
  })

  return {
    async upload(input) {
      const mediaId = nextId()
      const key = mediaKeys.original(mediaId)
      const budget = d.ledger.budget(input.userId, mediaId)
      try {
        // Quotas first, before a byte is stored: the declared length at once, or a slab at a
        // time for a chunked body (streamToS3 asks for more as the bytes come).
        if (input.declaredLength !== undefined) await budget.ensure(input.declaredLength)
        else await budget.ensure(1, RESERVE_SLAB)
        const stored = await streamToS3({
          s3: d.s3,
          bucket,
          key,
          body: input.body,
          requestedKind: input.requestedKind,
          limits: d.limits,
          ensure: (size) => budget.ensure(size, RESERVE_SLAB),
          ...(input.declaredLength !== undefined ? { declaredLength: input.declaredLength } : {}),
          ...(input.signal ? { signal: input.signal } : {}),
        })
        // Only documents keep a name: a photo's file name says nothing to the receiver and may leak.
        const name = stored.kind === 'document' ? (sanitiseFileName(input.fileName) ?? null) : null
        const row = {
          id: mediaId,
          uploaderId: input.userId,
          kind: stored.kind,
          mime: stored.mime,
          size: stored.size,
          name,
          key,
          createdAt: now(),
        }
        if (!(await budget.complete(row))) {
          await d.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => {})
          throw new ChatError('UPLOAD_ABORTED', 'the upload took too long: its reservation expired')
        }
        return { mediaId, kind: stored.kind, mime: stored.mime, size: stored.size, ...(name ? { name } : {}) }
      } catch (e) {
        // A gateway that cannot release leaves the reservation to the sweeper.
        await budget.release().catch(() => {})
        throw e
      }
    },

    async forAttach(mediaId, userId) {
      const row = await d.repo.find(mediaId)
      if (!row || row.uploaderId !== userId || (await d.repo.isWithdrawn(mediaId))) return undefined
      const expiring = row.createdAt < now() - (d.ledger.quota.unattachedTtlMs - ATTACH_MARGIN_MS)
      if (expiring && !(await d.repo.isShared(mediaId))) return undefined
      return toRef(row)
    },

    async authorise(mediaId, userId) {
      const row = await d.repo.find(mediaId)
      if (!row) return undefined
      if (row.uploaderId === userId) return (await d.repo.isWithdrawn(mediaId)) ? undefined : row
      // A member who was there when a message carried it: membership from the log (a removal
      // counts at once), shares from the views (published before the media job, ADR 0150).
      for (const share of await d.repo.sharedIn(mediaId, MAX_SHARES_CHECKED)) {
        const joined = await d.membership.joinedAt(share.conversationId, userId)
        if (joined !== undefined && joined < share.seq) return row
      }
      return undefined
    },

    async open(row, variant, pickRange) {
      const key = variant === 'original' ? row.key : mediaKeys.variant(row.id, variant)
      let head: HeadObjectCommandOutput
      try {
        head = await d.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      } catch (e) {
        if (isMissing(e)) return undefined
        throw new ChatError('UNAVAILABLE', 'the media store is unreachable', { cause: e })
      }
      const total = head.ContentLength ?? 0
      const picked = pickRange(total)
      if (picked === 'unsatisfiable') return { unsatisfiable: true, total }
      const range = picked === 'full' ? undefined : picked
      const res = await d.s3
        .send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
            ...(head.ETag ? { IfMatch: head.ETag } : {}),
          }),
        )
        .catch((e: unknown) => {
          throw new ChatError('UNAVAILABLE', 'the media store is unreachable', { cause: e })
        })
      // What the store sent is checked, not trusted: the response announces exactly `range`.
      const body = res.Body as Readable
      const w = storeWindow(range, total, {
        contentRange: res.ContentRange,
        contentLength: res.ContentLength,
      })
      if (!w.ok) {
        body.destroy()
        throw new ChatError('UNAVAILABLE', `the media store answered with other bytes: ${w.reason}`)
      }
      return {
        body: byteWindow(body, w.skip, w.take),
        length: w.take,
        total,
        range,
        mime: variant === 'original' ? row.mime : (head.ContentType ?? 'application/octet-stream'),
        etag: head.ETag,
        attachment: row.kind === 'document',
        name: row.name,
      }
    },
  }
}
