import { randomBytes } from 'node:crypto'
import { Algorithm, hash, verify } from '@node-rs/argon2'
import { normalizePassword } from './password-policy.js'

/**
 * argon2id at OWASP's first recommended setting (m = 19 MiB, t = 2, p = 1; Password Storage
 * Cheat Sheet). It costs ~25-40 ms of one core here and 19 MiB while it runs; hashing runs on
 * libuv's thread pool, so at most UV_THREADPOOL_SIZE (4) hashes are in flight per process and
 * memory stays bounded under a login flood (which the per-IP rate limit throttles first).
 * See docs/adr/0010-accounts-in-postgres.md.
 */
export interface Argon2Params {
  memoryCost: number
  timeCost: number
  parallelism: number
}

export const OWASP_ARGON2ID: Argon2Params = { memoryCost: 19_456, timeCost: 2, parallelism: 1 }

export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(hash: string, password: string): Promise<boolean>
  /**
   * Spends the same time as `verify` against a real hash, and answers false: used when the
   * username is unknown, so its timing does not reveal which usernames exist.
   */
  verifyDummy(password: string): Promise<boolean>
}

export const createPasswordHasher = async (
  params: Argon2Params = OWASP_ARGON2ID,
): Promise<PasswordHasher> => {
  const options = { algorithm: Algorithm.Argon2id, ...params }
  const hashOf = (password: string) => hash(normalizePassword(password), options)
  // Hashed with the same parameters as real accounts, so verifying against it costs the same.
  const dummy = await hashOf(randomBytes(32).toString('base64url'))
  return {
    hash: hashOf,
    verify: async (h, password) => {
      try {
        return await verify(h, normalizePassword(password))
      } catch {
        return false // a malformed stored hash matches nothing
      }
    },
    verifyDummy: async (password) => {
      await verify(dummy, normalizePassword(password)).catch(() => false)
      return false
    },
  }
}
