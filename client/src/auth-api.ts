import { decoder, type LoginRequest, type RegisterRequest, TokenPair, UserProfile } from '@chatapp/contracts'
import { type Decode, httpJson, httpTarget } from './http-json.js'

const tokenPair = decoder(TokenPair)
const userProfile = decoder(UserProfile)

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
  readonly base: string
  readonly fetchImpl: typeof fetch
  readonly timeoutMs: number

  /** `baseUrl`: the gateway's HTTP origin, e.g. `http://127.0.0.1:8080`. */
  constructor(baseUrl: string, opts: AuthApiOptions = {}) {
    ;({ base: this.base, fetchImpl: this.fetchImpl, timeoutMs: this.timeoutMs } = httpTarget(baseUrl, opts))
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

  private call<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    decode: Decode<T> | undefined,
    accessToken: string | undefined,
  ): Promise<T> {
    return httpJson(this, method, path, body, decode, accessToken)
  }
}
