import { createTestNamespace } from '@chatapp/infra'
import { createLogger, disableAsyncContextWhenIdle } from '@chatapp/kit'
import { TransactionContext } from '@mikro-orm/core'
import t from 'tap'
import { UserSchema } from '../../src/accounts/entities.js'
import { openGatewayDb } from '../../src/db/gateway-db.js'

// The gateway's main turns async-context tracking off between MikroORM runs (ADR 0177). MikroORM
// keeps each transaction's entity manager in an AsyncLocalStorage; this shows its transactions
// still see their own context across awaits, overlapping, and after the storage was turned off
// and on again between them, on the real database.
disableAsyncContextWhenIdle()

const tn = await createTestNamespace({ shards: 1 })
t.teardown(tn.cleanup)
const db = await openGatewayDb(
  tn.stack.databaseUrl,
  tn.names.dbSchemas.gateway,
  createLogger('test', 'silent'),
)
t.teardown(() => db.close())

const user = (id: string) => ({
  id,
  username: id,
  displayName: id,
  passwordHash: 'x',
  createdAt: Date.now(),
  groupAdds: 'everyone' as const,
  pushContent: 'full' as const,
  pushMentionsWhenMuted: true,
})

t.test('overlapping transactions keep their own context; a rolled-back one writes nothing', async (t) => {
  const ids = Array.from({ length: 12 }, (_, i) => `aci-${i}`)
  const contexts: boolean[] = []
  const results = await Promise.allSettled(
    ids.map((id, i) =>
      db.orm.em.fork().transactional(async (tx) => {
        tx.persist(tx.create(UserSchema, user(id)))
        await new Promise((r) => setImmediate(r))
        await tx.flush()
        // After awaits, the storage still names this transaction's manager, not another's.
        contexts.push(TransactionContext.getEntityManager(db.orm.em.name) === tx)
        if (i % 3 === 0) throw new Error(`roll back ${id}`)
      }),
    ),
  )
  t.equal(results.filter((r) => r.status === 'rejected').length, 4)
  t.same(
    contexts,
    ids.map(() => true),
  )
  t.equal(TransactionContext.getEntityManager(db.orm.em.name), undefined, 'nothing outside them')
  const stored = await db.orm.em.fork().find(UserSchema, { id: { $in: ids } }, { orderBy: { id: 'asc' } })
  t.same(
    stored.map((u) => u.id),
    ids.filter((_, i) => i % 3 !== 0).sort(),
    'exactly the committed ones',
  )
  // Once more after everything settled (the storage was turned off in between).
  await db.orm.em.fork().transactional(async (tx) => {
    await tx.nativeDelete(UserSchema, { id: { $in: ids } })
    await new Promise((r) => setImmediate(r))
    t.equal(TransactionContext.getEntityManager(db.orm.em.name), tx)
  })
  t.equal(await db.orm.em.fork().count(UserSchema, { id: { $in: ids } }), 0)
})
