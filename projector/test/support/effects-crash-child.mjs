// A projector, in a process of its own, that stops dead at one step of relaying effects: right
// after the batch that wrote them committed and before any is published ("before-publish"), or
// after JetStream acknowledged them and before the outbox forgets them ("before-delete"). It
// prints each effect id as it reaches that step; the test kills it there with SIGKILL.
// Run by test/effects-crash.test.ts with the built package (tsc -b): argv = JSON config.
import { names } from '@chatapp/contracts'
import { connectNats, createLogger } from '@chatapp/kit'
import { Registry } from 'prom-client'
import { openPool } from '../../dist/db.js'
import { jetStreamSink } from '../../dist/outbox-relay.js'
import { startProjector } from '../../dist/projector.js'

const c = JSON.parse(process.argv[2])
const log = createLogger('crash-child', 'silent')
const nc = await connectNats(c.natsUrl, 'crash-child', log)
const real = jetStreamSink(nc)
const never = new Promise(() => {})
await startProjector({
  nc,
  pool: openPool(c.databaseUrl, 4),
  databaseUrl: c.databaseUrl,
  names: names(c.ns, c.shards),
  batch: 100,
  log,
  registry: new Registry(),
  sink: {
    publish: async (row) => {
      if (c.stage === 'before-delete') await real.publish(row)
      process.stdout.write(`${c.stage} ${row.id}\n`)
      return never
    },
  },
})
process.stdout.write('started\n')
