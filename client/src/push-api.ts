import {
  decoder,
  Mute,
  MutesResponse,
  PushTarget,
  type PushTargetRequest,
  PushTargetsResponse,
  VapidKeyResponse,
} from '@chatapp/contracts'
import type { AuthApiOptions } from './auth-api.js'
import { type HttpTarget, httpJson, httpTarget } from './http-json.js'

const pushTarget = decoder(PushTarget)
const pushTargets = decoder(PushTargetsResponse)
const vapidKey = decoder(VapidKeyResponse)
const mute = decoder(Mute)
const mutes = decoder(MutesResponse)

/**
 * Push notifications and mutes over the HTTP API (docs/protocol.md "Push notifications"), with the
 * access token of the device they are for: a target belongs to the device that registers it and
 * goes when that device logs out. Errors as AuthApi's.
 *
 * In a browser: `subscribe()` with the server's key, then `registerWebPush(token, sub.toJSON())`.
 */
export class PushApi implements HttpTarget {
  readonly base: string
  readonly fetchImpl: typeof fetch
  readonly timeoutMs: number

  constructor(baseUrl: string, opts: AuthApiOptions = {}) {
    ;({ base: this.base, fetchImpl: this.fetchImpl, timeoutMs: this.timeoutMs } = httpTarget(baseUrl, opts))
  }

  /** The `applicationServerKey` for `PushManager.subscribe` (base64url). */
  async vapidPublicKey(accessToken: string): Promise<string> {
    const r = await httpJson(
      this,
      'GET',
      '/v1/push/vapid-public-key',
      undefined,
      (v) => vapidKey.fromValue(v, 'INTERNAL'),
      accessToken,
    )
    return r.publicKey
  }

  /** A browser subscription (`PushSubscription.toJSON()`): replaces this device's previous one. */
  registerWebPush(
    accessToken: string,
    sub: { endpoint: string; keys: { p256dh: string; auth: string } },
  ): Promise<PushTarget> {
    return this.register(accessToken, { kind: 'webpush', endpoint: sub.endpoint, keys: sub.keys })
  }

  /** A mobile push relay's URL for this device; the answer carries the signing secret, once. */
  registerWebhook(accessToken: string, url: string, secret?: string): Promise<PushTarget> {
    return this.register(accessToken, { kind: 'webhook', url, ...(secret !== undefined ? { secret } : {}) })
  }

  register(accessToken: string, req: PushTargetRequest): Promise<PushTarget> {
    return httpJson(
      this,
      'POST',
      '/v1/push/targets',
      req,
      (v) => pushTarget.fromValue(v, 'INTERNAL'),
      accessToken,
    )
  }

  async targets(accessToken: string): Promise<PushTarget[]> {
    return (
      await httpJson(
        this,
        'GET',
        '/v1/push/targets',
        undefined,
        (v) => pushTargets.fromValue(v, 'INTERNAL'),
        accessToken,
      )
    ).targets
  }

  deleteTarget(accessToken: string, targetId: string): Promise<void> {
    return httpJson(
      this,
      'DELETE',
      `/v1/push/targets/${encodeURIComponent(targetId)}`,
      undefined,
      undefined,
      accessToken,
    )
  }

  /** Mutes a conversation until `until` (ms since the epoch), or until unmuted (null). */
  mute(accessToken: string, conversationId: string, until: number | null = null): Promise<Mute> {
    return httpJson(
      this,
      'PUT',
      `/v1/conversations/${encodeURIComponent(conversationId)}/mute`,
      { until },
      (v) => mute.fromValue(v, 'INTERNAL'),
      accessToken,
    )
  }

  unmute(accessToken: string, conversationId: string): Promise<void> {
    return httpJson(
      this,
      'DELETE',
      `/v1/conversations/${encodeURIComponent(conversationId)}/mute`,
      undefined,
      undefined,
      accessToken,
    )
  }

  async mutes(accessToken: string): Promise<Mute[]> {
    return (
      await httpJson(
        this,
        'GET',
        '/v1/users/me/mutes',
        undefined,
        (v) => mutes.fromValue(v, 'INTERNAL'),
        accessToken,
      )
    ).mutes
  }
}
