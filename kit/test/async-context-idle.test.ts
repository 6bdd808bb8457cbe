import { AsyncLocalStorage } from 'node:async_hooks'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { disableAsyncContextWhenIdle } from '../src/async-context-idle.js'

const gate = (): { wait: Promise<void>; open: () => void } => {
  let open = (): void => {}
  const wait = new Promise<void>((r) => {
    open = r
  })
  return { wait, open }
}

// The patch is for the whole process, as in a service; tap gives this file its own.
disableAsyncContextWhenIdle()
disableAsyncContextWhenIdle()

const CHILD = fileURLToPath(new URL('./support/async-context-idle-child.mjs', import.meta.url))
const probe = async (mode: 'patched' | 'plain'): Promise<Record<string, unknown>> =>
  JSON.parse((await promisify(execFile)(process.execPath, [CHILD, mode], { timeout: 20_000 })).stdout)

t.test('async hooks are on while a run is in flight and off once it settles', async (t) => {
  t.same(await probe('patched'), {
    before: false,
    during: true,
    store: 'a',
    after: false,
    afterAnother: false,
    afterEnterWith: true,
  })
  // What the patch is for: without it one run leaves every later promise paying for the hooks.
  t.same(await probe('plain'), {
    before: false,
    during: true,
    store: 'a',
    after: true,
    afterAnother: true,
    afterEnterWith: true,
  })
})

t.test('the store follows every await of overlapping and nested runs', async (t) => {
  const als = new AsyncLocalStorage<string>()
  const first = gate()
  const second = gate()
  const seen: string[] = []
  const a = als.run('a', async () => {
    await first.wait
    seen.push(`a:${als.getStore()}`)
    await als.run('a.inner', async () => {
      await null
      seen.push(`inner:${als.getStore()}`)
    })
    seen.push(`a again:${als.getStore()}`)
  })
  const b = als.run('b', async () => {
    await second.wait
    seen.push(`b:${als.getStore()}`)
  })
  second.open()
  await b
  // b settled while a still waits: the storage must stay on for a.
  first.open()
  await a
  t.same(seen, ['b:b', 'a:a', 'inner:a.inner', 'a again:a'])
  t.equal(als.getStore(), undefined, 'no store outside any run')
  // Turned off and on again in between: a later run still carries its store over awaits.
  t.equal(
    await als.run('c', async () => {
      await null
      await new Promise((r) => setImmediate(r))
      return als.getStore()
    }),
    'c',
  )
})

t.test('a run that throws or rejects still counts as settled', async (t) => {
  const als = new AsyncLocalStorage<number>()
  t.throws(() =>
    als.run(1, () => {
      throw new Error('sync')
    }),
  )
  await t.rejects(
    als.run(2, async () => {
      await null
      throw new Error('async')
    }),
    /async/,
  )
  t.equal(
    als.run(3, () => als.getStore()),
    3,
    'a synchronous run returns its value',
  )
  t.equal(
    await als.run(4, async () => {
      await null
      return als.getStore()
    }),
    4,
    'counted down, not stuck: a later run works',
  )
})
