import { ChatClientError } from '@chatapp/client'
import {
  decoder,
  ErrorBody,
  HistoryResponse,
  InboxResponse,
  InvitationsResponse,
  MembersResponse,
  UploadResponse,
  UserProfile,
  UserSettings,
  WebSession,
} from '@chatapp/contracts'

/**
 * The HTTP API as the page uses it, on its own origin. Answers are decoded with the contracts'
 * schemas (the page trusts nothing it did not check); refusals become ChatClientErrors carrying
 * the server's code, like the client library's.
 */

type Decoder<T> = { fromValue(v: unknown, code?: 'INTERNAL'): { ok: true; value: T } | { ok: false } }
const errorBody = decoder(ErrorBody)

const parse = async (res: Response): Promise<unknown> => {
  const text = await res.text()
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export const refusal = (status: number, json: unknown): ChatClientError => {
  const e = errorBody.fromValue((json as { error?: unknown } | undefined)?.error)
  if (e.ok) return ChatClientError.fromBody(e.value)
  return new ChatClientError(status >= 500 ? 'UNAVAILABLE' : 'INTERNAL', `HTTP ${status}`)
}

export const call = async <T>(
  path: string,
  init: RequestInit,
  schema: Decoder<T> | undefined,
): Promise<T> => {
  let res: Response
  try {
    res = await fetch(path, { ...init, credentials: 'same-origin', cache: 'no-store' })
  } catch (err) {
    throw new ChatClientError('UNAVAILABLE', `${path}: ${String(err)}`, { cause: err })
  }
  const json = await parse(res)
  if (!res.ok) throw refusal(res.status, json)
  if (schema === undefined) return undefined as T
  const d = schema.fromValue(json, 'INTERNAL')
  if (!d.ok) throw new ChatClientError('INTERNAL', `${path}: unexpected response`)
  return d.value
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

export const schemas = {
  session: decoder(WebSession),
  profile: decoder(UserProfile),
  inbox: decoder(InboxResponse),
  invitations: decoder(InvitationsResponse),
  history: decoder(HistoryResponse),
  members: decoder(MembersResponse),
  upload: decoder(UploadResponse),
  settings: decoder(UserSettings),
}

/** The browser endpoints: the refresh token lives in an HttpOnly cookie, never in the page. */
export const webAuth = {
  register: (username: string, password: string, displayName: string) =>
    call('/v1/auth/register', json({ username, password, displayName }), schemas.profile),
  login: (username: string, password: string, deviceId: string) =>
    call('/v1/auth/web/login', json({ username, password, deviceId }), schemas.session),
  refresh: () => call('/v1/auth/web/refresh', { method: 'POST' }, schemas.session),
  logout: () => call('/v1/auth/web/logout', { method: 'POST' }, undefined),
}
