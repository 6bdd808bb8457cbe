import { fnv1a32 } from '@chatapp/contracts'
import { retryOnVanishedSchema } from '@chatapp/kit'
import { Migrator } from '@mikro-orm/migrations'
import { MikroORM } from '@mikro-orm/postgresql'
import pg from 'pg'
import { ENTITIES } from './entities.js'
import { Migration0001Views } from './migrations/0001-views.js'
import { Migration0002HotWatermarks } from './migrations/0002-hot-watermarks.js'
import { Migration0003JudgedViewsAndOutbox } from './migrations/0003-judged-views-and-outbox.js'
import { Migration0004MessageActions } from './migrations/0004-message-actions.js'
import { Migration0005GroupProfile } from './migrations/0005-group-profile.js'
import { Migration0006JoinRequests } from './migrations/0006-join-requests.js'

export type Orm = MikroORM

/**
 * A MikroORM instance bound to one views schema. The migrations are an explicit list (no file
 * discovery, so the compiled package carries them) and run under a PostgreSQL advisory lock, so
 * concurrent starts (several projectors, a CLI) never race to create the same tables.
 */
export const openOrm = async (databaseUrl: string, schema: string, poolMax = 4): Promise<Orm> => {
  const orm = await MikroORM.init({
    clientUrl: databaseUrl,
    schema,
    entities: ENTITIES,
    extensions: [Migrator],
    pool: { min: 0, max: poolMax },
    discovery: { warnWhenNoEntities: false },
    debug: false,
    allowGlobalContext: true,
    migrations: {
      tableName: 'mikro_orm_migrations',
      migrationsList: [
        { name: '0001-views', class: Migration0001Views },
        { name: '0002-hot-watermarks', class: Migration0002HotWatermarks },
        { name: '0003-judged-views-and-outbox', class: Migration0003JudgedViewsAndOutbox },
        { name: '0004-message-actions', class: Migration0004MessageActions },
        { name: '0005-group-profile', class: Migration0005GroupProfile },
        { name: '0006-join-requests', class: Migration0006JoinRequests },
      ],
      transactional: true,
      snapshot: false,
      silent: true,
    },
  })
  try {
    await migrate(databaseUrl, schema, orm)
  } catch (err) {
    // Its pool would keep the process alive (a CLI that failed would not exit).
    await orm.close(true)
    throw err
  }
  return orm
}

const migrate = async (databaseUrl: string, schema: string, orm: Orm): Promise<void> => {
  const lock = new pg.Client({ connectionString: databaseUrl })
  await lock.connect()
  try {
    await lock.query('SELECT pg_advisory_lock($1, $2)', [LOCK_MIGRATE, fnv1a32(schema) | 0])
    await lock.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
    // Another process dropping a schema mid-listing is not our failure (kit/pg-schema-churn.ts).
    await retryOnVanishedSchema(() => orm.getMigrator().up(), schema)
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_MIGRATE, fnv1a32(schema) | 0]).catch(() => {})
    await lock.end()
  }
}

/** Advisory lock classes (first key); the second key is a hash of the schema or namespace. */
export const LOCK_MIGRATE = 0x63_68_01
