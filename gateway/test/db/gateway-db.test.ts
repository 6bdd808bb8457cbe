import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import pg from 'pg'
import t from 'tap'
import { openGatewayDb } from '../../src/db/gateway-db.js'
import { GATEWAY_MIGRATIONS } from '../../src/db/migrations.js'

const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
const log = createLogger('test', 'silent')
const schema = tn.names.dbSchemas.gateway

t.test('two gateways starting at once apply the migrations exactly once', async (t) => {
  // Drop the schema provisioning made, to also prove the gateway creates its own.
  const admin = new pg.Client({ connectionString: tn.stack.databaseUrl })
  await admin.connect()
  t.teardown(() => admin.end())
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)

  const [a, b] = await Promise.all([
    openGatewayDb(tn.stack.databaseUrl, schema, log),
    openGatewayDb(tn.stack.databaseUrl, schema, log),
  ])
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const rows = await admin.query(`SELECT name FROM "${schema}".mikro_orm_migrations ORDER BY id`)
  t.same(
    rows.rows.map((r) => r.name),
    GATEWAY_MIGRATIONS.map((m) => m.name),
    'each migration once, in order',
  )
  const tables = await admin.query(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
    [schema],
  )
  const names = tables.rows.map((r) => r.table_name)
  for (const table of ['mikro_orm_migrations', 'refresh_tokens', 'sessions', 'users']) {
    t.ok(names.includes(table), table)
  }
  t.same(await a.migrate(), [], 'nothing left to apply')
  t.equal(await b.ping(), true)
})

t.test('refuses a schema name that is not a plain identifier', async (t) => {
  await t.rejects(openGatewayDb(tn.stack.databaseUrl, 'x"; DROP', log), /bad schema name/)
})
