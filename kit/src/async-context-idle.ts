import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * Turns Node's async-context tracking off whenever no `AsyncLocalStorage.run()` is in flight.
 *
 * Why: on Node 20 an AsyncLocalStorage, once `run()` has been called on it, keeps V8's promise
 * hooks on for the life of the process, and every promise then pays for them (init, before,
 * after and store propagation, and the garbage they make). MikroORM runs one around every
 * transaction, flush and find, so a single login left the gateway paying on every message of its
 * hot path, which touches no database (ADR 0177). This counts the runs in flight per storage and
 * disables the storage when its count returns to zero; the next `run()` enables it again (Node's
 * own `run()` does). A `run()` whose callback returns a promise counts until that promise
 * settles, which is how MikroORM uses it: everything that reads the context inside the run is
 * awaited by it. A storage entered with `enterWith()` is never turned off (nothing says when it
 * ends).
 *
 * Call once at process start, before anything runs a storage. Idempotent.
 */
export const disableAsyncContextWhenIdle = (): void => {
  const proto = AsyncLocalStorage.prototype as AsyncLocalStorage<unknown> & { [PATCHED]?: true }
  if (proto[PATCHED]) return
  proto[PATCHED] = true
  const run = proto.run
  const enterWith = proto.enterWith
  const inFlight = new WeakMap<AsyncLocalStorage<unknown>, number>()
  const pinned = new WeakSet<AsyncLocalStorage<unknown>>()
  const settle = (als: AsyncLocalStorage<unknown>): void => {
    const n = (inFlight.get(als) as number) - 1
    inFlight.set(als, n)
    if (n === 0 && !pinned.has(als)) als.disable()
  }
  proto.enterWith = function (this: AsyncLocalStorage<unknown>, store: unknown) {
    pinned.add(this)
    enterWith.call(this, store)
  }
  proto.run = function <R>(
    this: AsyncLocalStorage<unknown>,
    store: unknown,
    cb: (...a: unknown[]) => R,
    ...args: unknown[]
  ): R {
    inFlight.set(this, (inFlight.get(this) ?? 0) + 1)
    let result: R
    try {
      result = run.call(this, store, cb, ...args) as R
    } catch (e) {
      settle(this)
      throw e
    }
    if (isThenable(result)) {
      const done = (): void => settle(this)
      // A separate branch: the caller's own handling of the promise is untouched.
      result.then(done, done)
    } else settle(this)
    return result
  } as typeof proto.run
}

const PATCHED = Symbol.for('chatapp.asyncContextIdle')

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
