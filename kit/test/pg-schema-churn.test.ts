import t from 'tap'
import { isOtherSchemaGone, retryOnVanishedSchema } from '../src/pg-schema-churn.js'

t.test('only a vanished schema other than ours is retried', async (t) => {
  const own = 'ns1_views'
  t.ok(isOtherSchemaGone(new Error('select … - schema "ns2_views_verify_x" does not exist'), own))
  t.ok(isOtherSchemaGone(new Error('relation "ns2_views.messages" does not exist'), own))
  t.notOk(isOtherSchemaGone(new Error('schema "ns1_views" does not exist'), own), 'ours: a real failure')
  t.notOk(isOtherSchemaGone(new Error('relation "ns1_views.messages" does not exist'), own))
  t.notOk(isOtherSchemaGone(new Error('connection refused'), own))

  let calls = 0
  t.equal(
    await retryOnVanishedSchema(async () => {
      if (++calls < 3) throw new Error('schema "other" does not exist')
      return 'done'
    }, own),
    'done',
  )
  t.equal(calls, 3, 'run again until it passes')
  calls = 0
  await t.rejects(
    retryOnVanishedSchema(
      async () => {
        calls++
        throw new Error('schema "other" does not exist')
      },
      own,
      4,
    ),
    /other/,
  )
  t.equal(calls, 4, 'bounded')
  calls = 0
  await t.rejects(
    retryOnVanishedSchema(async () => {
      calls++
      throw new Error('permission denied')
    }, own),
    /permission/,
  )
  t.equal(calls, 1, 'any other failure at once')
})
