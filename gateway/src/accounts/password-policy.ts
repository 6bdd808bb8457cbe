import { COMMON_PASSWORDS } from './common-passwords.js'

/**
 * Which passwords are acceptable (NIST SP 800-63B §5.1.1.2): a length floor and ceiling counted
 * in code points (an emoji is one character), no composition rules, and refusal of passwords
 * known to be common or built from the username. Pure.
 */
export const PASSWORD_MIN_CHARS = 8
/** argon2 accepts any length, but a ceiling bounds the work one request can ask for. */
export const PASSWORD_MAX_CHARS = 256

export type PasswordVerdict = { ok: true } | { ok: false; reason: string }

/**
 * NFKC, so the same password typed on two keyboards (composed or decomposed accents, full-width
 * digits) hashes the same. Applied before both the policy and the hash.
 */
export const normalizePassword = (password: string): string => password.normalize('NFKC')

export const checkPassword = (password: string, username: string): PasswordVerdict => {
  const p = normalizePassword(password)
  const chars = [...p].length
  if (chars < PASSWORD_MIN_CHARS) return { ok: false, reason: `at least ${PASSWORD_MIN_CHARS} characters` }
  if (chars > PASSWORD_MAX_CHARS) return { ok: false, reason: `at most ${PASSWORD_MAX_CHARS} characters` }
  const lower = p.toLowerCase()
  if (COMMON_PASSWORDS.has(lower)) return { ok: false, reason: 'this password is too common' }
  if (new Set(p).size === 1) return { ok: false, reason: 'one repeated character' }
  const user = username.toLowerCase()
  if (user.length >= 3 && lower.includes(user))
    return { ok: false, reason: 'the password contains the username' }
  return { ok: true }
}
