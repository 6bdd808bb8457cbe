import { AuthApi } from '@chatapp/client'
import type { TokenPair } from '@chatapp/contracts'

/**
 * Registers and logs in the benchmark's users with the client library's AuthApi, as an app
 * would. Password hashing is deliberately slow on the gateway, so this runs before the measured
 * window with a bounded number of requests in flight.
 */
export interface BenchUser {
  username: string
  password: string
}

export const registerAndLogin = async (
  httpUrl: string,
  u: BenchUser,
  deviceId: string,
): Promise<TokenPair> => {
  const api = new AuthApi(httpUrl, { timeoutMs: 60_000 })
  await api.register({ username: u.username, password: u.password, displayName: u.username })
  return api.login({ username: u.username, password: u.password, deviceId })
}

export const login = (httpUrl: string, u: BenchUser, deviceId: string): Promise<TokenPair> =>
  new AuthApi(httpUrl, { timeoutMs: 60_000 }).login({ username: u.username, password: u.password, deviceId })

/** Runs `f` over `items` with at most `limit` in flight, keeping the order of results. */
export const mapLimit = async <T, R>(
  items: readonly T[],
  limit: number,
  f: (x: T, i: number) => Promise<R>,
) => {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await f(items[i]!, i)
      }
    }),
  )
  return out
}
