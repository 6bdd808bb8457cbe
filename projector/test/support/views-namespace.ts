import { createTestNamespace } from '@chatapp/infra'
import { createLogger } from '@chatapp/kit'
import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import { Registry } from 'prom-client'
import t from 'tap'
import { openPool } from '../../src/db.js'
import { type ProjectorOptions, startProjector } from '../../src/projector.js'
import { verify } from '../../src/verify.js'

/**
 * A test file's namespace with what the projector's tests use on it: JetStream clients, a pool,
 * SQL on the views (`V.` stands for the views schema), the shard offsets, a projector on the
 * file's options, and `verify`. Removed when the file's tests end.
 */
export const viewsNamespace = async (
  shards: number,
  opts: Omit<Parameters<typeof createTestNamespace>[0] & {}, 'shards'> = {},
) => {
  const tn = await createTestNamespace({ shards, ...opts })
  t.teardown(tn.cleanup)
  const n = tn.names
  const schema = n.dbSchemas.views
  const js = jetstream(tn.nc)
  const jsm = await jetstreamManager(tn.nc)
  const pool = openPool(tn.stack.databaseUrl, 4, createLogger('test', 'silent'))
  t.teardown(() => pool.end())
  const q = async (sql: string, p: unknown[] = []) =>
    (await pool.query(sql.replaceAll('V.', `"${schema}".`), p)).rows
  return {
    tn,
    n,
    schema,
    js,
    jsm,
    pool,
    q,
    offsetOf: async (shard: number): Promise<number> =>
      Number(
        (await q('SELECT last_seq FROM V.projector_offsets WHERE shard = $1', [shard]))[0]?.last_seq ?? 0,
      ),
    /** A projector in this process; `extra` holds what a test changes (connection, linger, …). */
    start: (extra: Partial<ProjectorOptions> = {}) =>
      startProjector({
        nc: tn.nc,
        pool,
        databaseUrl: tn.stack.databaseUrl,
        names: n,
        batch: 50,
        log: createLogger('test', 'silent'),
        registry: new Registry(),
        ...extra,
      }),
    verify: (conversationId?: string) =>
      verify({
        js,
        jsm,
        pool,
        databaseUrl: tn.stack.databaseUrl,
        names: n,
        batch: 500,
        ...(conversationId ? { conversationId } : {}),
      }),
  }
}
