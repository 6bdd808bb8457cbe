import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { formatEnvFile, parseEnvFile, stackEnvPath, updateEnvFile, withStackEnv } from '../src/stack-env.js'

const tmp = (t: { teardown(f: () => void): void }) => {
  const dir = mkdtempSync(join(tmpdir(), 'chatapp-env-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('the env file is shell syntax that reads back exactly, quotes included', async (t) => {
  const vars = { A: 'plain', B: "it's 'quoted'", C: 'postgres://u:p@h:1/d?x=1&y=$HOME', D: '' }
  const text = formatEnvFile(vars)
  t.match(text, /^export A='plain'$/m)
  t.same(parseEnvFile(text), vars)
  t.same(parseEnvFile('# comment\n\nNATS_URL=nats://x:1\n  export Y=2\nnot a line\n'), {
    NATS_URL: 'nats://x:1',
    Y: '2',
  })
})

t.test('a command reads the stack env file for what its own environment leaves unset', async (t) => {
  const dir = tmp(t)
  updateEnvFile(join(dir, 'stack.env'), { NATS_URL: 'nats://127.0.0.1:14222', CHATAPP_NS: 'dev' })
  const env = withStackEnv({ CHATAPP_DATA_DIR: dir, CHATAPP_NS: 'mine', DATABASE_URL: '' })
  t.equal(env.NATS_URL, 'nats://127.0.0.1:14222', 'from the file')
  t.equal(env.CHATAPP_NS, 'mine', 'the environment wins')
  t.equal(env.DATABASE_URL, undefined, 'an empty variable counts as unset')
  t.equal(stackEnvPath({ CHATAPP_DATA_DIR: dir }), join(dir, 'stack.env'))
  // CHATAPP_ENV_FILE points at another stack's file (the cluster's).
  updateEnvFile(join(dir, 'cluster.env'), { NATS_URL: 'nats://a:1,nats://b:2' })
  t.equal(
    withStackEnv({ CHATAPP_DATA_DIR: dir, CHATAPP_ENV_FILE: join(dir, 'cluster.env') }).NATS_URL,
    'nats://a:1,nats://b:2',
  )
  t.same(
    withStackEnv({ CHATAPP_DATA_DIR: join(dir, 'none') }),
    { CHATAPP_DATA_DIR: join(dir, 'none') },
    'no file, no change',
  )
})

t.test('updating removes what the predicate names and deletes an empty file', async (t) => {
  const file = join(tmp(t), 'stack.env')
  updateEnvFile(file, { NATS_URL: 'nats://127.0.0.1:14222', DATABASE_URL: 'postgres://x' })
  updateEnvFile(file, {}, (k, v) => k === 'NATS_URL' && v === 'nats://127.0.0.1:9')
  t.match(readFileSync(file, 'utf8'), /NATS_URL/, 'a different value is not removed')
  updateEnvFile(file, {}, (k, v) => k === 'NATS_URL' && v === 'nats://127.0.0.1:14222')
  t.same(parseEnvFile(readFileSync(file, 'utf8')), { DATABASE_URL: 'postgres://x' })
  updateEnvFile(file, {}, () => true)
  t.notOk(existsSync(file))
})
