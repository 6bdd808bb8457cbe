import { S3Client } from '@aws-sdk/client-s3'
import type { S3Config } from './config.js'

/** An S3 client on the configured endpoint (s3rver locally, any S3 in production). */
export const s3ClientOf = (s3: S3Config): S3Client =>
  new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  })
