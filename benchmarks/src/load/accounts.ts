import type { TokenPair } from '@chatapp/contracts'

/**
 * Registers and logs in the benchmark's users over the HTTP API, as an app would. Password
 * hashing is deliberately slow on the gateway, so this runs before the measured window with a
 * bounded number of requests in flight.
 */
export interface BenchUser {
  username: string
  password: string
}

const post = async (url: string, body: unknown): Promise<Response> =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })

export const registerAndLogin = async (
  httpUrl: string,
  u: BenchUser,
  deviceId: string,
): Promise<TokenPair> => {
  const reg = await post(`${httpUrl}/v1/auth/register`, {
    username: u.username,
    password: u.password,
    displayName: u.username,
  })
  if (reg.status !== 201 && reg.status !== 409)
    throw new Error(`register ${u.username}: HTTP ${reg.status} ${await reg.text()}`)
  const login = await post(`${httpUrl}/v1/auth/login`, {
    username: u.username,
    password: u.password,
    deviceId,
  })
  if (login.status !== 200) throw new Error(`login ${u.username}: HTTP ${login.status} ${await login.text()}`)
  return (await login.json()) as TokenPair
}

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
