import { randomBytes } from 'node:crypto'
import { testStack } from '@chatapp/infra'
import pg from 'pg'
import t from 'tap'
import { openOrm } from '../src/orm.js'

/**
 * MikroORM's migrator lists the tables of every schema of the database before it migrates one
 * (its `information_schema` query casts each name to a regclass). A schema another process drops
 * meanwhile — a `verify` ending, a test namespace removed — failed that query with "schema … does
 * not exist", and the projector's start with it (seen with test files running side by side). Here
 * schemas with tables are created and dropped without pause while views schemas are migrated.
 */
t.test('migrating a views schema survives other schemas being dropped meanwhile', async (t) => {
  const stack = await testStack()
  const admin = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 })
  t.teardown(() => admin.end())
  const tag = randomBytes(4).toString('hex')
  let churning = true
  let dropped = 0
  const churn = (async () => {
    for (let i = 0; churning; i++) {
      const s = `churn_${tag}_${i}`
      await admin.query(`CREATE SCHEMA "${s}"; CREATE TABLE "${s}".a (x int); CREATE TABLE "${s}".b (x int)`)
      await admin.query(`DROP SCHEMA "${s}" CASCADE`)
      dropped++
    }
  })()
  const schemas = Array.from({ length: 8 }, (_, i) => `mig_${tag}_${i}`)
  t.teardown(async () => {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
  })
  try {
    for (const s of schemas) {
      const orm = await openOrm(stack.databaseUrl, s, 1)
      await orm.close()
    }
  } finally {
    churning = false
    await churn
  }
  const r = await admin.query<{ n: string }>(
    `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ANY($1) AND table_name = 'messages'`,
    [schemas],
  )
  t.equal(Number(r.rows[0]!.n), schemas.length, `every schema migrated (${dropped} others dropped meanwhile)`)
})
