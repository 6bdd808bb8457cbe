import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { type ArchiveCheckpoint, isArchiveCheckpoint } from '@chatapp/contracts'
import {
  checkpointKey,
  type EncodedSegment,
  parseSegmentKey,
  type SegmentRef,
  segmentPrefix,
  segmentStartAfter,
} from './segment-format.js'

/**
 * Where the archive lives: one bucket, segments and checkpoints (segment-format.ts). Guarantees:
 * a listing yields segments in sequence order; `put` of a segment is whole or absent (S3 has no
 * partial objects); a checkpoint read is the last one written (S3 is strongly consistent for
 * read-after-write). Segments are never overwritten: a key names its checksum.
 */
export interface ArchiveStore {
  readonly bucket: string
  /** Segments holding a sequence above `afterSeq`, in order, up to the first one that starts after `upTo`. */
  segments(shard: number, afterSeq: number, upTo?: number): AsyncGenerator<SegmentRef, void, undefined>
  body(key: string): Promise<Uint8Array>
  put(segment: EncodedSegment): Promise<void>
  remove(key: string): Promise<void>
  checkpoint(shard: number): Promise<ArchiveCheckpoint | undefined>
  writeCheckpoint(cp: ArchiveCheckpoint): Promise<void>
}

export class ArchiveFormatError extends Error {
  readonly code = 'ARCHIVE_CORRUPT'
}

/** Attempts at reading an object's body (the request itself is retried by the SDK). */
export const BODY_READ_ATTEMPTS = 3

/** A connection lost or stalled while the body was read: reading the object again can succeed. */
const isTransientRead = (e: unknown): boolean => {
  const { code, name } = (e ?? {}) as { code?: unknown; name?: unknown }
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ETIMEDOUT' || name === 'TimeoutError'
}

export const s3ArchiveStore = (s3: S3Client, bucket: string): ArchiveStore => {
  // The SDK retries a request until its response headers arrive; nothing retries the body after
  // that, so a connection that drops mid-body failed the read (and with it an archive pass, a
  // replay or a test) with a bare `ECONNRESET: aborted`. s3rver does that on its own: it rewrites
  // an object in place, so a read racing a checkpoint write is sent the old length and a shorter
  // body, and its keep-alive timeout closes the connection 5 s later. A GET is idempotent: it is
  // made again, a bounded number of times.
  const body = async (key: string): Promise<Uint8Array> => {
    for (let attempt = 1; ; attempt++) {
      const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      try {
        return await r.Body!.transformToByteArray()
      } catch (e) {
        if (attempt >= BODY_READ_ATTEMPTS || !isTransientRead(e)) throw e
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt))
      }
    }
  }
  return {
    bucket,
    async *segments(shard, afterSeq, upTo = Number.MAX_SAFE_INTEGER) {
      let token: string | undefined
      do {
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: segmentPrefix(shard),
            ...(token ? { ContinuationToken: token } : { StartAfter: segmentStartAfter(shard, afterSeq) }),
          }),
        )
        for (const o of page.Contents ?? []) {
          const ref = o.Key ? parseSegmentKey(o.Key, o.Size ?? 0) : undefined
          if (!ref) continue
          if (ref.fromSeq > upTo) return
          yield ref
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
    },
    body,
    async put(seg) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: seg.key,
          Body: seg.body,
          ContentType: 'application/gzip',
          Metadata: {
            'from-seq': String(seg.header.fromSeq),
            'to-seq': String(seg.header.toSeq),
            count: String(seg.header.count),
            'first-at': new Date(seg.header.firstAt).toISOString(),
            'last-at': new Date(seg.header.lastAt).toISOString(),
            sha256: seg.sha256,
          },
        }),
      )
    },
    async remove(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
    },
    async checkpoint(shard) {
      // S3 replaces an object atomically; s3rver (the local endpoint) rewrites the file in place,
      // so a read racing a write can see half of it: a checkpoint that does not parse is read
      // again a few times before it counts as corrupt.
      for (let attempt = 0; ; attempt++) {
        let bytes: Uint8Array
        try {
          bytes = await body(checkpointKey(shard))
        } catch (e) {
          if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return undefined
          throw e
        }
        let v: unknown
        try {
          v = JSON.parse(Buffer.from(bytes).toString('utf8'))
        } catch {
          v = undefined
        }
        if (isArchiveCheckpoint(v) && v.shard === shard) return v
        if (attempt >= 4)
          throw new ArchiveFormatError(`the archive checkpoint of shard ${shard} is not an ArchiveCheckpoint`)
        await new Promise((r) => setTimeout(r, 20 * (attempt + 1)))
      }
    },
    async writeCheckpoint(cp) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: checkpointKey(cp.shard),
          Body: JSON.stringify(cp),
          ContentType: 'application/json',
        }),
      )
    },
  }
}
