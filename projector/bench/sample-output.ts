/** Prints real output of every CLI command on a small scratch history (for docs/operators.md). */
import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import { jetstream } from '@nats-io/jetstream'
import { Registry } from 'prom-client'
import { runCli } from '../src/cli-run.js'
import { openPool } from '../src/db.js'
import { startProjector } from '../src/projector.js'
import { created, ev, GROUP, sent, U } from '../test/support/events.js'
import { append, waitFor } from '../test/support/log.js'

const tn = await createTestNamespace({ shards: 2 })
const n = tn.names
const js = jetstream(tn.nc)
const pool = openPool(tn.stack.databaseUrl, 4, createLogger('test', 'silent'))
const p = await startProjector({
  nc: tn.nc,
  pool,
  databaseUrl: tn.stack.databaseUrl,
  names: n,
  batch: 100,
  log: createLogger('x', 'silent'),
  registry: new Registry(),
})
await append(js, n, created(GROUP))
const s1 = await append(js, n, sent(GROUP, U.bob, 1, 'Lunch at noon?'))
await append(js, n, ev('member.added', GROUP, U.ann, { userId: U.dan, role: 'member' }))
await append(js, n, ev('receipt.delivered', GROUP, U.cat, { upTo: s1 }))
await append(js, n, ev('receipt.read', GROUP, U.cat, { upTo: s1 }))
await append(js, n, sent(GROUP, U.dan, 2, 'Sure, see you there'))
await append(js, n, ev('member.left', GROUP, U.ann, { userId: U.ann }))
await js.publish(n.convSubject('c_broken01', 'm'), new TextEncoder().encode('{"type":"message.sent"}'))
const last = await append(js, n, created('c_other0001', [U.cat, U.dan]))
await waitFor(async () => {
  const r = await pool.query(`SELECT sum(last_seq)::int AS s FROM "${n.dbSchemas.views}".projector_offsets`)
  return Number(r.rows[0]?.s ?? 0) >= last + 7
})
const io = {
  out: (s: string) => process.stdout.write(s),
  err: (s: string) => process.stdout.write(s),
  isTTY: false,
  env: { ...tn.env },
}
for (const argv of [
  ['replay', GROUP],
  ['replay', GROUP, '--from-seq', '5', '--json'],
  ['lag'],
  ['dead-letters'],
  ['verify'],
  ['rebuild'],
  ['rebuild', '--view', 'messages'],
]) {
  console.log(`\n$ chatapp-ops ${argv.join(' ')}`)
  const code = await runCli(argv, io)
  console.log(`(exit ${code})`)
}
await pool.query(`UPDATE "${n.dbSchemas.views}".messages SET text = 'edited by hand' WHERE n = 1`)
console.log(`\n$ chatapp-ops verify --conversation ${GROUP}`)
console.log(`(exit ${await runCli(['verify', '--conversation', GROUP], io)})`)
await p.stop()
await pool.end()
await tn.cleanup()
