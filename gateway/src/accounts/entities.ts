import { BigIntType, EntitySchema } from '@mikro-orm/core'

/**
 * Accounts tables as MikroORM entities (EntitySchema: no decorators). Times are milliseconds
 * since the epoch (bigint read as number), like every time on the wire. The tables themselves
 * are created by db/migrations/0001-accounts.ts.
 */
const millis = () => ({ type: new BigIntType('number') })

export interface UserRow {
  id: string
  username: string
  displayName: string
  /** argon2id PHC string: algorithm, parameters and salt travel with the hash. */
  passwordHash: string
  createdAt: number
  /** Who may add this user to groups directly (migration 0002). */
  groupAdds: 'everyone' | 'contacts' | 'nobody'
  /** What push notifications carry (migration 0190). */
  pushContent: 'full' | 'none'
  /** Whether mentions are pushed in conversations the user muted (migration 0194). */
  pushMentionsWhenMuted: boolean
}

export const UserSchema = new EntitySchema<UserRow>({
  name: 'User',
  tableName: 'users',
  properties: {
    id: { type: 'string', primary: true },
    username: { type: 'string', unique: true },
    displayName: { type: 'string' },
    passwordHash: { type: 'string', lazy: true },
    createdAt: millis(),
    groupAdds: { type: 'string', default: 'everyone' },
    pushContent: { type: 'string', default: 'full' },
    pushMentionsWhenMuted: { type: 'boolean', default: true },
  },
})

/** A logged-in device: one refresh-token family. Its id is the access token's `jti`. */
export interface SessionRow {
  id: string
  userId: string
  deviceId: string
  createdAt: number
  revokedAt: number | null
  /** logout, logout-all, reuse (theft detection), replaced (a new login on the same device). */
  revokedReason: string | null
}

export const SessionSchema = new EntitySchema<SessionRow>({
  name: 'Session',
  tableName: 'sessions',
  properties: {
    id: { type: 'string', primary: true },
    userId: { type: 'string' },
    deviceId: { type: 'string' },
    createdAt: millis(),
    revokedAt: { ...millis(), nullable: true },
    revokedReason: { type: 'string', nullable: true },
  },
})

/** One refresh token: only its SHA-256 is stored, so a database leak yields no usable token. */
export interface RefreshTokenRow {
  tokenHash: string
  sessionId: string
  issuedAt: number
  expiresAt: number
  /** Set when it was exchanged for a new one; presenting it again is reuse. */
  rotatedAt: number | null
}

export const RefreshTokenSchema = new EntitySchema<RefreshTokenRow>({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  properties: {
    tokenHash: { type: 'string', primary: true },
    sessionId: { type: 'string' },
    issuedAt: millis(),
    expiresAt: millis(),
    rotatedAt: { ...millis(), nullable: true },
  },
})

export const ACCOUNT_ENTITIES = [UserSchema, SessionSchema, RefreshTokenSchema]
