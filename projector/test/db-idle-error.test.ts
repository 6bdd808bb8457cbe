import { testStack } from '@chatapp/infra'
import pg from 'pg'
import t from 'tap'
import { openPool } from '../src/db.js'

t.test('an idle connection PostgreSQL drops is logged, not thrown: the process goes on', async (t) => {
  const stack = await testStack()
  let warned!: () => void
  const warning = new Promise<void>((resolve) => {
    warned = resolve
  })
  const seen: unknown[] = []
  const pool = openPool(stack.databaseUrl, 1, {
    warn: (o: unknown) => {
      seen.push(o)
      warned()
    },
  })
  t.teardown(() => pool.end())
  const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  const admin = new pg.Client({ connectionString: stack.databaseUrl })
  await admin.connect()
  t.teardown(() => admin.end())
  // The connection sits idle in the pool when its backend is terminated: the pool emits 'error',
  // which without a listener is an uncaught exception that ends the process (this test with it).
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid])
  await Promise.race([
    warning,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no warning within 10 s')), 10_000).unref()),
  ])
  t.match(seen[0], { pool: 'projector' })
  const again = await pool.query<{ one: number }>('SELECT 1 AS one')
  t.equal(again.rows[0]!.one, 1, 'the next query opens a new connection')
})
