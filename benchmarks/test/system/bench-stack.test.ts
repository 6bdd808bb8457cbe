import t from 'tap'
import { assertLoopback, newBenchNamespace } from '../../src/system/bench-stack.js'

t.test('accepts only loopback service addresses', async (t) => {
  t.doesNotThrow(() => assertLoopback('NATS', 'nats://127.0.0.1:4222, nats://127.0.0.2:4223'))
  t.doesNotThrow(() => assertLoopback('PostgreSQL', 'postgres://postgres@localhost:5432/postgres'))
  t.throws(() => assertLoopback('NATS', 'nats://10.0.0.5:4222'), /not on this machine/)
  t.throws(() => assertLoopback('S3', 'https://s3.amazonaws.com'), /not on this machine/)
})

t.test('run namespaces are valid and distinct', async (t) => {
  const a = newBenchNamespace()
  t.match(a, /^b[a-z0-9]{1,23}$/)
  t.not(a, newBenchNamespace())
})
