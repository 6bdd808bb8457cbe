import { decoder, ErrorBody } from '@chatapp/contracts'
import { ChatClientError } from './errors.js'

export type Decode<T> = (v: unknown) => { ok: true; value: T } | { ok: false; error: ErrorBody }

const errorBody = decoder(ErrorBody)

/** Where and how long: what AuthApi and PushApi share. */
export interface HttpTarget {
  readonly base: string
  readonly fetchImpl: typeof fetch
  readonly timeoutMs: number
}

/** The origin without a trailing slash, the fetch to use (the global one by default), the timeout. */
export const httpTarget = (
  baseUrl: string,
  opts: { fetch?: typeof fetch; timeoutMs?: number },
): HttpTarget => ({
  base: baseUrl.replace(/\/+$/, ''),
  fetchImpl: opts.fetch ?? fetch,
  timeoutMs: opts.timeoutMs ?? 10_000,
})

/**
 * One JSON request. Refusals reject with a ChatClientError carrying the server's code; an
 * unreachable server or a body that matches no schema rejects with UNAVAILABLE / INTERNAL.
 */
export const httpJson = async <T>(
  h: HttpTarget,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body: unknown,
  decode: Decode<T> | undefined,
  accessToken: string | undefined,
): Promise<T> => {
  let res: Response
  try {
    const headers: Record<string, string> = {}
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (accessToken !== undefined) headers.authorization = `Bearer ${accessToken}`
    res = await h.fetchImpl(h.base + path, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(h.timeoutMs),
    })
  } catch (err) {
    throw new ChatClientError('UNAVAILABLE', `${path}: ${String(err)}`, { cause: err })
  }
  const text = await res.text().catch(() => '')
  const json = parse(text)
  if (!res.ok) {
    // Errors are `{ "error": ErrorBody }`.
    const e = errorBody.fromValue((json as { error?: unknown } | undefined)?.error)
    if (e.ok) throw ChatClientError.fromBody(e.value)
    // Not our error shape (a proxy's page, say): classify by status.
    throw new ChatClientError(res.status >= 500 ? 'UNAVAILABLE' : 'INTERNAL', `${path}: HTTP ${res.status}`)
  }
  if (decode === undefined) return undefined as T
  const d = decode(json)
  if (!d.ok)
    throw new ChatClientError('INTERNAL', `${path}: unexpected response`, {
      details: d.error.details ?? [],
    })
  return d.value
}

const parse = (text: string): unknown => {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
