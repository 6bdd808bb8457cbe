import { createReadStream, createWriteStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { PermanentFailure } from './failure.js'

/**
 * S3 adapter of the worker. Objects are written whole with a known length (variants are small or
 * streamed from a local file). A missing original is permanent; every other S3 error is transient.
 */
export interface MediaStore {
  /** Streams an object to a local file; refuses one larger than `maxBytes`. */
  download(key: string, path: string, maxBytes: number): Promise<number>
  putFile(key: string, path: string, contentType: string): Promise<number>
  putBuffer(key: string, data: Buffer, contentType: string): Promise<number>
  /** Size of an object, or undefined when it does not exist. */
  size(key: string): Promise<number | undefined>
  /** undefined when the object does not exist. */
  getJson(key: string): Promise<unknown | undefined>
  ping(): Promise<boolean>
}

const isMissing = (e: unknown): boolean => {
  const name = (e as { name?: string })?.name
  return name === 'NoSuchKey' || name === 'NotFound'
}

export const s3MediaStore = (s3: S3Client, bucket: string): MediaStore => ({
  async download(key, path, maxBytes) {
    let res: GetObjectCommandOutput
    try {
      res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
    } catch (e) {
      if (isMissing(e))
        throw new PermanentFailure('MEDIA_NOT_FOUND', `original ${key} is missing`, { cause: e })
      throw e
    }
    if ((res.ContentLength ?? 0) > maxBytes) {
      ;(res.Body as Readable | undefined)?.destroy()
      throw new PermanentFailure('MEDIA_UNSUPPORTED', `original is larger than ${maxBytes} bytes`)
    }
    await pipeline(res.Body as Readable, createWriteStream(path, { mode: 0o600 }))
    return (await stat(path)).size
  },
  async putFile(key, path, contentType) {
    // lib-storage sends parts as buffers: a plain PutObject with a stream body goes out with
    // aws-chunked encoding, which some S3 endpoints (s3rver) store verbatim, chunk headers and all.
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: createReadStream(path), ContentType: contentType },
    }).done()
    return (await stat(path)).size
  },
  async putBuffer(key, data, contentType) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data, ContentType: contentType }))
    return data.length
  },
  async size(key) {
    try {
      return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength ?? 0
    } catch (e) {
      if (isMissing(e)) return undefined
      throw e
    }
  },
  async getJson(key) {
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      return JSON.parse(await res.Body!.transformToString('utf8'))
    } catch (e) {
      if (isMissing(e)) return undefined
      throw e
    }
  },
  ping: () =>
    s3.send(new HeadBucketCommand({ Bucket: bucket })).then(
      () => true,
      () => false,
    ),
})
