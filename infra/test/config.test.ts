import { ConfigError } from '@chatapp/kit'
import t from 'tap'
import { readInfraConfig } from '../src/config.js'

t.test(
  'NATS_REPLICAS and NATS_DUPLICATE_WINDOW_MS are read with the rest of the configuration',
  async (t) => {
    const dflt = readInfraConfig({})
    t.same(
      [dflt.ns, dflt.shards, dflt.settings.replicas, dflt.settings.duplicateWindowMs],
      ['chatapp', 8, 1, 120_000],
    )
    const cluster = readInfraConfig({
      NATS_REPLICAS: '3',
      NATS_DUPLICATE_WINDOW_MS: '300000',
      CHATAPP_SHARDS: '16',
    })
    t.same([cluster.shards, cluster.settings.replicas, cluster.settings.duplicateWindowMs], [16, 3, 300_000])
  },
)

t.test('every bad value is reported at once, before anything starts', async (t) => {
  try {
    readInfraConfig({
      NATS_REPLICAS: '7',
      NATS_DUPLICATE_WINDOW_MS: 'soon',
      CHATAPP_NS: 'Not-Valid',
      NATS_URL: 'x',
    })
    t.fail('accepted')
  } catch (e) {
    t.ok(e instanceof ConfigError)
    const problems = (e as ConfigError).problems.join('\n')
    for (const v of [
      'NATS_REPLICAS=7',
      'NATS_DUPLICATE_WINDOW_MS=soon',
      'CHATAPP_NS=Not-Valid',
      'NATS_URL=x',
    ])
      t.match(problems, v)
  }
})
