import {
  decoder,
  ErrorBody,
  type LoginRequest,
  type RegisterRequest,
  TokenPair,
  UserProfile,
} from '@chatapp/contracts'
import { ChatClientError } from './errors.js'

type Decode<T> = (v: unknown) => { ok: true; value: T } | { ok: false; error: ErrorBody }

const tokenPair = decoder(TokenPair)
const userProfile = decoder(UserProfile)
const errorBody = decoder(ErrorBody)

export interface AuthApiOptions {
  /** Defaults to the global fetch (Node 18+, browsers). */
  fetch?: typeof fetch
  /** Per request. Default 10 000 ms. */
  timeoutMs?: number
}

/**
 * The HTTP auth endpoints (POST /v1/auth/register|login|refresh|logout) and the user lookup. Refusals reject with a
 * ChatClientError carrying the server's code; an unreachable server or a body that matches no
 * schema rejects with UNAVAILABLE / INTERNAL, so the caller handles one error type.
 */
export class AuthApi {
  private readonly base: string
  private readonly fetchImpl: typeof fetch
  private readonly timeoutMs: number

  /** `baseUrl`: the gateway's HTTP origin, e.g. `http://127.0.0.1:8080`. */
  constructor(baseUrl: string, opts: AuthApiOptions = {}) {
    this.base = baseUrl.replace(/\/+$/, '')
    this.fetchImpl = opts.fetch ?? fetch
    this.timeoutMs = opts.timeoutMs ?? 10_000
  }

  async register(req: RegisterRequest): Promise<UserProfile> {
    return this.post('/v1/auth/register', req, (v) => userProfile.fromValue(v, 'INTERNAL'))
  }

  async login(req: LoginRequest): Promise<TokenPair> {
    return this.post('/v1/auth/login', req, (v) => tokenPair.fromValue(v, 'INTERNAL'))
  }

  /** Refresh tokens are single use: store the pair this returns. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    return this.post('/v1/auth/refresh', { refreshToken }, (v) => tokenPair.fromValue(v, 'INTERNAL'))
  }

  async logout(refreshToken: string, allDevices = false): Promise<void> {
    await this.post('/v1/auth/logout', { refreshToken, ...(allDevices ? { allDevices } : {}) }, undefined)
  }

  /** The one lookup an app needs before `openDirect`: a user id from a username. */
  async userByUsername(accessToken: string, username: string): Promise<UserProfile> {
    return this.call(
      'GET',
      `/v1/users/by-username/${encodeURIComponent(username)}`,
      undefined,
      (v) => userProfile.fromValue(v, 'INTERNAL'),
      accessToken,
    )
  }

  private post<T>(path: string, body: unknown, decode: Decode<T> | undefined): Promise<T> {
    return this.call('POST', path, body, decode, undefined)
  }

  private async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    decode: Decode<T> | undefined,
    accessToken: string | undefined,
  ): Promise<T> {
    let res: Response
    try {
      const headers: Record<string, string> = {}
      if (body !== undefined) headers['content-type'] = 'application/json'
      if (accessToken !== undefined) headers.authorization = `Bearer ${accessToken}`
      res = await this.fetchImpl(this.base + path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
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
}

const parse = (text: string): unknown => {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
