// An archiver in a process of its own that stops dead at one step of recording a segment (after
// it is stored, read back, its heads recorded, or the checkpoint moved), printing `<step> <key>`
// when it gets there; the test kills it there with SIGKILL. Run by test/archive/archiver-crash.test.ts
// with the built package (tsc -b): argv = JSON config.
import { names } from '@chatapp/contracts'
import { connectNats, createLogger, s3ArchiveStore, s3ClientOf } from '@chatapp/kit'
import { startArchivers } from '../../dist/archive/archivers.js'
import { openPool } from '../../dist/db.js'

const c = JSON.parse(process.argv[2])
const log = createLogger('archiver-child', 'silent')
const nc = await connectNats(c.natsUrl, 'archiver-child', log)
const n = names(c.ns, c.shards)
await startArchivers({
  nc,
  pool: openPool(c.databaseUrl, 2),
  databaseUrl: c.databaseUrl,
  names: n,
  store: s3ArchiveStore(s3ClientOf(c.s3), n.archiveBucket),
  limits: { maxEvents: c.segmentEvents, maxBytes: 1 << 20, maxAgeMs: 0 },
  hot: { maxAgeMs: 0, maxBytes: 0 },
  pollMs: 20,
  log,
  onStep: async (step, key) => {
    if (step !== c.stage) return
    process.stdout.write(`${step} ${key}\n`)
    await new Promise(() => {})
  },
})
process.stdout.write('started\n')
