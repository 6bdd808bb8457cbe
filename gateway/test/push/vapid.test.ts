import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadOrCreateVapidKeys } from '../../src/push/vapid.js'

t.test('VAPID keys are created once, shared by concurrent starts, and read back the same', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vapid-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'keys', 'vapid.pem')
  const [a, b] = await Promise.all([
    loadOrCreateVapidKeys(path, 'mailto:ops@example.com'),
    loadOrCreateVapidKeys(path, 'mailto:ops@example.com'),
  ])
  t.same(a, b, 'a gateway and a worker starting together end with one key')
  t.equal(Buffer.from(a.publicKey, 'base64url').length, 65)
  t.equal(Buffer.from(a.privateKey, 'base64url').length, 32)
  t.same(await loadOrCreateVapidKeys(path, 'mailto:ops@example.com'), a)
  t.match(await readFile(path, 'utf8'), /BEGIN PRIVATE KEY/)
  await t.rejects(loadOrCreateVapidKeys(path, 'ops@example.com'), /mailto/)
})
