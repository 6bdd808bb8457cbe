import { fnv1a32 } from '@chatapp/contracts'
import { type Logger, retryOnVanishedSchema } from '@chatapp/kit'
import { Migrator } from '@mikro-orm/migrations'
import { MikroORM } from '@mikro-orm/postgresql'
import pg from 'pg'
import { GATEWAY_ENTITIES } from './entities.js'
import { GATEWAY_MIGRATIONS } from './migrations.js'

export interface GatewayDb {
  readonly orm: MikroORM
  readonly schema: string
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<string[]>
  /** For /readyz. */
  ping(): Promise<boolean>
  close(): Promise<void>
}

/** Advisory lock class (first key) of gateway migrations; the second key hashes the schema. */
export const LOCK_GATEWAY_MIGRATE = 0x63_68_10

/**
 * MikroORM bound to the gateway's own schema (`names(ns, shards).dbSchemas.gateway`). Request
 * handlers use `orm.em.fork()`; there is no global context, so a forgotten fork fails loudly
 * instead of sharing an identity map between requests. Pending migrations are applied before
 * it returns.
 */
export const openGatewayDb = async (
  databaseUrl: string,
  schema: string,
  log: Logger,
  /** `migrate: false` skips applying migrations at open (tools that only read). */
  o: { poolMax?: number; migrate?: boolean } = {},
): Promise<GatewayDb> => {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`bad schema name "${schema}"`)
  const orm = await MikroORM.init({
    clientUrl: databaseUrl,
    schema,
    entities: GATEWAY_ENTITIES,
    extensions: [Migrator],
    pool: { min: 0, max: o.poolMax ?? 10 },
    discovery: { warnWhenNoEntities: false },
    debug: false,
    allowGlobalContext: false,
    logger: (message) => log.debug({ orm: message }, 'mikro-orm'),
    migrations: {
      tableName: 'mikro_orm_migrations',
      migrationsList: GATEWAY_MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
  })

  const migrate = async (): Promise<string[]> => {
    // A session-level advisory lock on a connection of its own: a second gateway starting at the
    // same moment waits here, then finds nothing left to apply.
    const lock = new pg.Client({ connectionString: databaseUrl })
    await lock.connect()
    const key = [LOCK_GATEWAY_MIGRATE, fnv1a32(schema) | 0]
    try {
      await lock.query('SELECT pg_advisory_lock($1, $2)', key)
      await lock.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
      // Another process dropping a schema mid-listing is not our failure (kit/pg-schema-churn.ts).
      const applied = await retryOnVanishedSchema(() => orm.getMigrator().up(), schema)
      if (applied.length > 0)
        log.info({ schema, applied: applied.map((m) => m.name) }, 'gateway migrations applied')
      return applied.map((m) => m.name)
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1, $2)', key).catch(() => {})
      await lock.end()
    }
  }

  if (o.migrate !== false) {
    try {
      await migrate()
    } catch (e) {
      await orm.close(true)
      throw e
    }
  }

  return {
    orm,
    schema,
    migrate,
    ping: () =>
      orm.em
        .fork()
        .getConnection()
        .execute('SELECT 1')
        .then(() => true),
    close: () => orm.close(true),
  }
}
