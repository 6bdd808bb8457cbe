import t from 'tap'
import { ConfigError, ConfigReader, readCommon, readS3 } from '../src/config.js'
import { ENV_VARS, envDefault } from '../src/env.js'

t.test('defaults come from the one catalogue of variables', async (t) => {
  const common = readCommon(new ConfigReader({}))
  t.equal(common.ns, envDefault('CHATAPP_NS'))
  t.equal(common.shards, Number(envDefault('CHATAPP_SHARDS')))
  t.equal(readS3(new ConfigReader({})).forcePathStyle, true)
  t.throws(() => envDefault('NOT_A_VARIABLE'), /kit\/src\/env.ts/)
})

t.test('an empty variable means its default', async (t) => {
  t.equal(new ConfigReader({ CHATAPP_NS: '' }).str('CHATAPP_NS'), 'chatapp')
})

t.test('collects every invalid variable and reports them together', async (t) => {
  const c = new ConfigReader({
    CHATAPP_SHARDS: 'many',
    NATS_URL: 'not a url',
    S3_FORCE_PATH_STYLE: 'maybe',
    LOG_LEVEL: 'loud',
  })
  readCommon(c)
  readS3(c)
  const err = t.throws(() => c.done()) as unknown as ConfigError
  t.type(err, ConfigError)
  t.equal(err.problems.length, 4)
  t.match(err.message, /CHATAPP_SHARDS=many/)
  t.match(err.message, /LOG_LEVEL=loud: expected one of/)
})

t.test('parses integers within bounds, booleans and lists', async (t) => {
  const c = new ConfigReader({
    GATEWAY_PORT: '70000',
    S3_FORCE_PATH_STYLE: '0',
    ALLOWED_ORIGINS: 'https://a, https://b,',
  })
  c.int('GATEWAY_PORT', 0, 65535)
  t.equal(c.bool('S3_FORCE_PATH_STYLE'), false)
  t.same(c.list('ALLOWED_ORIGINS'), ['https://a', 'https://b'])
  t.throws(() => c.done(), /GATEWAY_PORT=70000/)
  const ok = new ConfigReader({ S3_FORCE_PATH_STYLE: '1' })
  t.equal(ok.bool('S3_FORCE_PATH_STYLE'), true)
  ok.done()
})

t.test('every variable is documented in the README table with its default', async (t) => {
  const { readFile } = await import('node:fs/promises')
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const quote = (x: string) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  for (const v of ENV_VARS) {
    t.match(
      readme,
      new RegExp(`\\|\\s*\`${quote(v.name)}\`\\s*\\|\\s*\`${quote(v.default)}\`\\s*\\|`),
      v.name,
    )
  }
})
