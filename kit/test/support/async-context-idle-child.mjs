// Run by async-context-idle.test.ts in a process of its own: tap's own async hooks would hide
// whether the patch turned them off. Prints one JSON object of what it saw.
import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks'
import { disableAsyncContextWhenIdle } from '../../dist/async-context-idle.js'

// Inside a promise reaction executionAsyncId() is the promise's own id while async hooks are on
// and 0 while they are off: the public sign of whether every promise pays for them.
const hooksOn = async () => {
  let id = 0
  await Promise.resolve().then(() => {
    id = executionAsyncId()
  })
  return id !== 0
}

if (process.argv[2] === 'patched') disableAsyncContextWhenIdle()
const seen = { before: await hooksOn() }
const als = new AsyncLocalStorage()
let release
const waiting = new Promise((r) => {
  release = r
})
const running = als.run('a', async () => {
  await waiting
  return als.getStore()
})
seen.during = await hooksOn()
release()
seen.store = await running
seen.after = await hooksOn()
await als.run('b', async () => {
  await null
})
seen.afterAnother = await hooksOn()
// Nothing says when a store entered with enterWith ends, so its storage stays on.
const entered = new AsyncLocalStorage()
await new Promise((resolve) =>
  setImmediate(() => {
    entered.enterWith('e')
    resolve()
  }),
)
await entered.run('f', async () => {
  await null
})
seen.afterEnterWith = await hooksOn()
process.stdout.write(JSON.stringify(seen))
