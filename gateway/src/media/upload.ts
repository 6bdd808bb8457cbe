import { Readable } from 'node:stream'
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { ChatError, type MediaKind } from '@chatapp/contracts'
import { classifyUpload, SNIFF_BYTES } from './sniff.js'

export type UploadLimits = Record<MediaKind, number>

export interface StoredUpload {
  kind: MediaKind
  mime: string
  size: number
}

/**
 * Streams a request body into S3 at `key`: the first bytes decide the kind (and so the size
 * limit), the rest flows through with backpressure — at most one multipart part (5 MiB) is
 * buffered, never the file. Over the limit, aborted by the client, or refused after sniffing:
 * the partial object is removed and the error is a ChatError with its code.
 */
export const streamToS3 = async (o: {
  s3: S3Client
  bucket: string
  key: string
  body: Readable
  requestedKind: MediaKind | undefined
  limits: UploadLimits
  /** The client's Content-Length, when it sent one: refused early if over the limit. */
  declaredLength?: number
  signal?: AbortSignal
  /**
   * Called with the running size before each chunk goes on to the store; a rejection (a quota
   * refusal) cuts the upload there, and is its answer.
   */
  ensure?: (size: number) => Promise<void>
}): Promise<StoredUpload> => {
  const it = o.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const chunks: Buffer[] = []
  let headLength = 0
  let ended = false
  while (headLength < SNIFF_BYTES) {
    const r = await it.next()
    if (r.done) {
      ended = true
      break
    }
    chunks.push(r.value)
    headLength += r.value.length
  }
  const head = Buffer.concat(chunks)
  if (head.length === 0) throw new ChatError('INVALID_REQUEST', 'the upload is empty')
  const c = await classifyUpload(head, o.requestedKind)
  if (!c.ok) {
    o.body.destroy()
    throw new ChatError('UNSUPPORTED_MEDIA_TYPE', c.reason)
  }
  const limit = o.limits[c.kind]
  const tooLarge = () => new ChatError('PAYLOAD_TOO_LARGE', `a ${c.kind} may be at most ${limit} bytes`)
  if ((o.declaredLength ?? 0) > limit || head.length > limit) {
    o.body.destroy()
    throw tooLarge()
  }
  let size = head.length
  // Why the body was cut, when we cut it. The uploader may fail with another error on its way
  // out (aborting the multipart upload can fail too: s3rver answers 405), but the client must
  // hear the reason, not a retryable UNAVAILABLE.
  let refusal: ChatError | undefined
  const refuse = (e: ChatError): ChatError => {
    refusal ??= e
    return e
  }
  // A body shorter than its Content-Length is a client that went away, even if the transport
  // reported a clean end: never store a truncated file as a whole one.
  const short = () =>
    o.declaredLength !== undefined && size < o.declaredLength
      ? new ChatError('UPLOAD_ABORTED', `${size} of ${o.declaredLength} bytes arrived`)
      : undefined
  const allow = async (n: number) => {
    try {
      await o.ensure?.(n)
    } catch (e) {
      throw e instanceof ChatError ? refuse(e) : e
    }
  }
  async function* bytes(): AsyncGenerator<Buffer> {
    await allow(head.length)
    yield head
    for (;;) {
      let r: IteratorResult<Buffer>
      try {
        r = ended ? { done: true, value: undefined } : await it.next()
      } catch (e) {
        // The transport's own refusals (over its limit, client gone) travel on the body stream.
        throw e instanceof ChatError ? refuse(e) : e
      }
      if (r.done) {
        const e = short()
        if (e) throw refuse(e)
        return
      }
      size += r.value.length
      if (size > limit) throw refuse(tooLarge())
      await allow(size)
      yield r.value
    }
  }
  const upload = new Upload({
    client: o.s3,
    params: { Bucket: o.bucket, Key: o.key, Body: Readable.from(bytes()), ContentType: c.mime },
    leavePartsOnError: false,
  })
  const onAbort = () => void upload.abort().catch(() => {})
  o.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    await upload.done()
  } catch (e) {
    // A single-part upload may have completed before the error surfaced: remove it too.
    await o.s3.send(new DeleteObjectCommand({ Bucket: o.bucket, Key: o.key })).catch(() => {})
    if (refusal) throw refusal
    if (e instanceof ChatError) throw e
    if (o.signal?.aborted || (e as Error)?.name === 'AbortError')
      throw new ChatError('UPLOAD_ABORTED', undefined, { cause: e })
    throw new ChatError('UNAVAILABLE', 'the media store did not accept the upload', { cause: e })
  } finally {
    o.signal?.removeEventListener('abort', onAbort)
  }
  return { kind: c.kind, mime: c.mime, size }
}
