// A projector, in a process of its own, that stops dead right after a fast-path statement that
// carried two shards or more committed, before any of their deliveries is acknowledged: the
// statement's promise never settles. It prints the shards of that statement ("combined 0,2");
// the test kills it there with SIGKILL. Run by test/combined-writes.test.ts with the built
// package (tsc -b): argv = JSON config.
import { names } from '@chatapp/contracts'
import { connectNats, createLogger } from '@chatapp/kit'
import { Registry } from 'prom-client'
import { openPool } from '../../dist/db.js'
import { startProjector } from '../../dist/projector.js'

const c = JSON.parse(process.argv[2])
const log = createLogger('combined-crash-child', 'silent')
const nc = await connectNats(c.natsUrl, 'combined-crash-child', log)
const pool = openPool(c.databaseUrl, 6)
const query = pool.query.bind(pool)
const never = new Promise(() => {})
pool.query = async (...args) => {
  const r = await query(...args)
  const text = typeof args[0] === 'object' ? args[0].text : undefined
  if (text?.includes('projector_offsets o SET') && r.rows.length >= 2) {
    process.stdout.write(`combined ${r.rows.map((x) => x.shard).join(',')}\n`)
    return never
  }
  return r
}
await startProjector({
  nc,
  pool,
  databaseUrl: c.databaseUrl,
  names: names(c.ns, c.shards),
  batch: 100,
  lingerMs: 50,
  log,
  registry: new Registry(),
})
process.stdout.write('started\n')
