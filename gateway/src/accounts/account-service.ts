import { createHash, randomBytes } from 'node:crypto'
import {
  ChatError,
  type LoginRequest,
  type RegisterRequest,
  type TokenPair,
  type UserProfile,
} from '@chatapp/contracts'
import type { Logger } from '@chatapp/kit'
import {
  type EntityManager,
  LockMode,
  type MikroORM,
  UniqueConstraintViolationException,
} from '@mikro-orm/core'
import type { GroupQuota, UserDirectory } from '../ports.js'
import { PushTargetSchema } from '../push/entities.js'
import type { BucketSpec } from '../transport/http/rate-limiter.js'
import { createAccountLimits } from './account-limits.js'
import { RefreshTokenSchema, SessionSchema, UserSchema } from './entities.js'
import { DEFAULT_LOGIN_THROTTLE, type LoginThrottlePolicy } from './login-throttle.js'
import type { PasswordHasher } from './password-hasher.js'
import { checkPassword } from './password-policy.js'
import { decideRefresh } from './refresh-decision.js'
import type { TokenService } from './token-service.js'
import { createUserSettings, type UserSettingsStore } from './user-settings.js'

/**
 * Accounts and sessions in PostgreSQL (docs/adr/0010-accounts-in-postgres.md). A session is one
 * logged-in device and one refresh-token family; its id is the access token's `jti`.
 */
export interface AccountService extends UserDirectory, UserSettingsStore, GroupQuota {
  /** USERNAME_TAKEN, WEAK_PASSWORD, INVALID_REQUEST. */
  register(input: RegisterRequest): Promise<UserProfile>
  /**
   * INVALID_CREDENTIALS for an unknown user and a wrong password alike, in the same time;
   * LOGIN_THROTTLED (with `retryAfterMs`) after too many failures on the username, alike too.
   */
  login(input: LoginRequest): Promise<TokenPair>
  /** Single use: INVALID_REFRESH_TOKEN, and a reused token revokes its whole session. */
  refresh(refreshToken: string): Promise<TokenPair>
  /** Revokes the token's session, or every session of its user. INVALID_REFRESH_TOKEN. */
  logout(refreshToken: string, allDevices: boolean): Promise<void>
  findByUsername(username: string): Promise<UserProfile | undefined>
  /** The profiles of the registered users among `userIds` (unknown ids are left out); one query. */
  profiles(userIds: readonly string[]): Promise<UserProfile[]>
  /**
   * Deletes refresh tokens expired more than `PURGE_GRACE_MS` ago (until then a replayed rotated
   * token is still recognised as reuse), then sessions left without tokens. Idempotent; run it
   * periodically from one or all instances. Also drops idle per-account limit rows.
   */
  purgeExpired(): Promise<{ tokens: number; sessions: number; limits: number }>
}

export const PURGE_GRACE_MS = 7 * 86_400_000

export type RevocationReason = 'logout' | 'logout-all' | 'reuse' | 'replaced'

export interface AccountServiceDeps {
  orm: MikroORM
  tokens: TokenService
  hasher: PasswordHasher
  refreshTtlS: number
  log: Logger
  now?: () => number
  /**
   * Told after sessions were revoked (committed), e.g. to close their WebSockets with 4403
   * before their access tokens expire. Must not throw.
   */
  onSessionsRevoked?: (userId: string, sessionIds: string[], reason: RevocationReason) => void
  /** Failed logins per username (ADR 0140); DEFAULT_LOGIN_THROTTLE when absent. */
  loginThrottle?: LoginThrottlePolicy
  /** Group creations per user; DEFAULT_GROUP_CREATION when absent. */
  groupCreation?: BucketSpec
}

/** `GROUP_CREATE_PER_HOUR` = 20, as a bucket: 20 at once, then one every 3 minutes. */
export const DEFAULT_GROUP_CREATION: BucketSpec = { perSecond: 20 / 3600, burst: 20 }

const USERNAME = /^[a-z0-9_.]{3,32}$/
// Control characters and bidi overrides would let one display name impersonate another.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
const BAD_DISPLAY_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

const randomId = (prefix: string, bytes: number) => `${prefix}${randomBytes(bytes).toString('base64url')}`
export const hashRefreshToken = (token: string): string => createHash('sha256').update(token).digest('hex')

export const createAccountService = (d: AccountServiceDeps): AccountService => {
  const now = d.now ?? Date.now
  const refreshTtlMs = d.refreshTtlS * 1000
  const limits = createAccountLimits(d.orm, {
    login: d.loginThrottle ?? DEFAULT_LOGIN_THROTTLE,
    groups: d.groupCreation ?? DEFAULT_GROUP_CREATION,
  })
  const schema = d.orm.config.get('schema')

  /**
   * The user and whether `deviceId` has logged in to the account before, in one query whether or
   * not the user exists: an unknown username costs the same.
   */
  const findForLogin = async (em: EntityManager, username: string, deviceId: string | undefined) => {
    const [row] = await em.getConnection().execute<{ id: string; password_hash: string; known: boolean }[]>(
      `SELECT u.id, u.password_hash, EXISTS (SELECT 1 FROM "${schema}".sessions s WHERE s.user_id = u.id AND s.device_id = ?) AS known
       FROM "${schema}".users u WHERE u.username = ?`,
      [deviceId ?? '', username],
    )
    return row ? { id: row.id, passwordHash: row.password_hash, knownDevice: row.known } : undefined
  }
  const notify = (userId: string, ids: string[], reason: RevocationReason) => {
    if (ids.length === 0 || !d.onSessionsRevoked) return
    try {
      d.onSessionsRevoked(userId, ids, reason)
    } catch (err) {
      d.log.error({ err }, 'onSessionsRevoked failed')
    }
  }

  /** A new refresh token of `sessionId`, written through `em` (flushed by the caller). */
  const newRefreshToken = (em: EntityManager, sessionId: string, at: number) => {
    const token = `rt_${randomBytes(32).toString('base64url')}` // 256 bits
    const expiresAt = at + refreshTtlMs
    em.create(RefreshTokenSchema, {
      tokenHash: hashRefreshToken(token),
      sessionId,
      issuedAt: at,
      expiresAt,
      rotatedAt: null,
    })
    return { token, expiresAt }
  }

  const pair = async (
    userId: string,
    deviceId: string,
    sessionId: string,
    refresh: { token: string; expiresAt: number },
  ): Promise<TokenPair> => {
    const access = await d.tokens.issue(userId, deviceId, sessionId)
    return {
      userId,
      deviceId,
      accessToken: access.accessToken,
      accessExpiresAt: access.expiresAt,
      refreshToken: refresh.token,
      refreshExpiresAt: refresh.expiresAt,
    }
  }

  const revokeLive = async (
    em: EntityManager,
    where: { userId: string; deviceId?: string } | { id: string },
    reason: RevocationReason,
    at: number,
  ): Promise<string[]> => {
    const live = await em.find(SessionSchema, { ...where, revokedAt: null }, { fields: ['id'] })
    const ids = live.map((s) => s.id)
    if (ids.length > 0) {
      await em.nativeUpdate(SessionSchema, { id: { $in: ids } }, { revokedAt: at, revokedReason: reason })
      // A logged-out device is never pushed again (ADR 0190); with the revocation when `em` is a transaction.
      await em.nativeDelete(PushTargetSchema, { sessionId: { $in: ids } })
    }
    return ids
  }

  return {
    async register(input) {
      const verdict = checkPassword(input.password, input.username)
      if (!verdict.ok) throw new ChatError('WEAK_PASSWORD', `The password is too weak: ${verdict.reason}.`)
      const displayName = input.displayName.trim()
      if (displayName.length === 0 || BAD_DISPLAY_CHARS.test(displayName)) {
        throw new ChatError('INVALID_REQUEST', 'The display name is empty or has control characters.', {
          details: ['/displayName'],
        })
      }
      const em = d.orm.em.fork()
      // Saves an argon2 hash for the common case; the unique index decides races.
      if ((await em.count(UserSchema, { username: input.username })) > 0)
        throw new ChatError('USERNAME_TAKEN')
      const user = em.create(UserSchema, {
        id: randomId('u_', 16),
        username: input.username,
        displayName,
        passwordHash: await d.hasher.hash(input.password),
        createdAt: now(),
        groupAdds: 'everyone',
        pushContent: 'full',
        pushMentionsWhenMuted: true,
      })
      try {
        await em.flush()
      } catch (e) {
        if (e instanceof UniqueConstraintViolationException) throw new ChatError('USERNAME_TAKEN')
        throw e
      }
      d.log.info({ userId: user.id }, 'user registered')
      return { userId: user.id, username: user.username, displayName: user.displayName }
    },

    async login(input) {
      const username = input.username.toLowerCase()
      const em = d.orm.em.fork()
      // The same queries and the same argon2 work whether or not the user exists. A name that
      // cannot exist is not counted: it can never succeed, and the per-address limit holds it.
      const valid = USERNAME.test(username)
      const user = valid ? await findForLogin(em, username, input.deviceId) : undefined
      // A device the account has logged in from has its own count (login-throttle.ts).
      const throttleKey = `login:${username}:${user?.knownDevice ? input.deviceId : '*'}`
      if (valid) {
        const wait = await limits.loginAttempt(throttleKey, now())
        if (wait > 0) throw new ChatError('LOGIN_THROTTLED', undefined, { retryAfterMs: wait })
      }
      const ok = user
        ? await d.hasher.verify(user.passwordHash, input.password)
        : await d.hasher.verifyDummy(input.password)
      if (!user || !ok) throw new ChatError('INVALID_CREDENTIALS')
      await limits.loginSucceeded(throttleKey)

      const deviceId = input.deviceId ?? randomId('d', 12)
      const at = now()
      const sessionId = randomId('s_', 16)
      const { replaced, refresh } = await em.transactional(async (tx) => {
        // One family per device: logging in again on a device ends its previous session.
        const replaced = await revokeLive(tx, { userId: user.id, deviceId }, 'replaced', at)
        tx.create(SessionSchema, {
          id: sessionId,
          userId: user.id,
          deviceId,
          createdAt: at,
          revokedAt: null,
          revokedReason: null,
        })
        // The entities declare no relations, so the unit of work cannot order these inserts itself.
        await tx.flush()
        return { replaced, refresh: newRefreshToken(tx, sessionId, at) }
      })
      notify(user.id, replaced, 'replaced')
      d.log.info({ userId: user.id, deviceId, sessionId }, 'login')
      return pair(user.id, deviceId, sessionId, refresh)
    },

    async refresh(refreshToken) {
      const tokenHash = hashRefreshToken(refreshToken)
      const at = now()
      const outcome = await d.orm.em.fork().transactional(async (tx) => {
        // Row lock: two refreshes of one token serialise, and the second sees it rotated.
        const token = await tx.findOne(
          RefreshTokenSchema,
          { tokenHash },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        )
        const session = token ? await tx.findOne(SessionSchema, { id: token.sessionId }) : null
        const decision = decideRefresh(token ?? undefined, session ?? undefined, at)
        switch (decision.action) {
          case 'refuse':
            return { kind: 'refuse' as const, why: decision.why }
          case 'reuse': {
            const s = session!
            await revokeLive(tx, { id: s.id }, 'reuse', at)
            return { kind: 'reuse' as const, userId: s.userId, sessionId: s.id }
          }
          case 'rotate': {
            token!.rotatedAt = at
            const s = session!
            return { kind: 'rotate' as const, session: s, refresh: newRefreshToken(tx, s.id, at) }
          }
          default: {
            const never: never = decision
            throw new Error(`unknown decision ${JSON.stringify(never)}`)
          }
        }
      })
      switch (outcome.kind) {
        case 'refuse':
          throw new ChatError('INVALID_REFRESH_TOKEN', undefined, { details: [outcome.why] })
        case 'reuse':
          d.log.warn(
            { userId: outcome.userId, sessionId: outcome.sessionId },
            'refresh token reused: session revoked (possible theft)',
          )
          notify(outcome.userId, [outcome.sessionId], 'reuse')
          throw new ChatError(
            'INVALID_REFRESH_TOKEN',
            'The refresh token was already used; the session is revoked.',
          )
        case 'rotate':
          return pair(outcome.session.userId, outcome.session.deviceId, outcome.session.id, outcome.refresh)
        default: {
          const never: never = outcome
          throw new Error(`unknown outcome ${JSON.stringify(never)}`)
        }
      }
    },

    async logout(refreshToken, allDevices) {
      const at = now()
      const em = d.orm.em.fork()
      const token = await em.findOne(RefreshTokenSchema, { tokenHash: hashRefreshToken(refreshToken) })
      const session = token ? await em.findOne(SessionSchema, { id: token.sessionId }) : null
      if (!token || !session) throw new ChatError('INVALID_REFRESH_TOKEN')
      if (allDevices) {
        // Ending every device is stronger than ending one: only a current token may ask for it.
        if (decideRefresh(token, session, at).action !== 'rotate')
          throw new ChatError('INVALID_REFRESH_TOKEN')
        const ids = await revokeLive(em, { userId: session.userId }, 'logout-all', at)
        notify(session.userId, ids, 'logout-all')
        d.log.info({ userId: session.userId, sessions: ids.length }, 'logout of all devices')
        return
      }
      const ids = await revokeLive(em, { id: session.id }, 'logout', at)
      notify(session.userId, ids, 'logout')
    },

    async findByUsername(username) {
      if (!USERNAME.test(username)) return undefined
      const user = await d.orm.em.fork().findOne(UserSchema, { username })
      return user ? { userId: user.id, username: user.username, displayName: user.displayName } : undefined
    },

    async profiles(userIds) {
      if (userIds.length === 0) return []
      const rows = await d.orm.em
        .fork()
        .find(
          UserSchema,
          { id: { $in: [...new Set(userIds)] } },
          { fields: ['id', 'username', 'displayName'] },
        )
      return rows.map((u) => ({ userId: u.id, username: u.username, displayName: u.displayName }))
    },

    async purgeExpired() {
      const em = d.orm.em.fork()
      const tokens = await em.nativeDelete(RefreshTokenSchema, { expiresAt: { $lt: now() - PURGE_GRACE_MS } })
      // A session lives exactly as long as one of its tokens: login writes both in one transaction.
      const res = await em
        .getConnection()
        .execute<{ affectedRows: number }>(
          `DELETE FROM "${schema}".sessions s WHERE NOT EXISTS (SELECT 1 FROM "${schema}".refresh_tokens r WHERE r.session_id = s.id)`,
          [],
          'run',
        )
      return { tokens, sessions: res.affectedRows, limits: await limits.purgeIdle(now()) }
    },

    takeGroupCreation: (userId) => limits.takeGroupCreation(userId, now()),
    ...createUserSettings(d.orm),

    async existing(userIds) {
      if (userIds.length === 0) return new Set()
      const rows = await d.orm.em
        .fork()
        .find(UserSchema, { id: { $in: [...new Set(userIds)] } }, { fields: ['id'] })
      return new Set(rows.map((r) => r.id))
    },
  }
}
