import { parseArgs } from 'node:util'
import S3rver from 's3rver'

/** The local S3 endpoint: s3rver on loopback, storing objects under the given directory. */
const { values } = parseArgs({
  options: { address: { type: 'string' }, port: { type: 'string' }, dir: { type: 'string' } },
})
const server = new S3rver({
  port: Number(values.port ?? 14568),
  address: values.address ?? '127.0.0.1',
  directory: values.dir ?? '.data/s3',
  silent: true,
  // ListObjectsV2 and multipart uploads need nothing else; CORS and website config stay off.
})
await server.run()
const stop = () => {
  server.close().finally(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
