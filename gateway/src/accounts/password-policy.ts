import { dictionary } from '@zxcvbn-ts/language-common'

/**
 * Which passwords are acceptable (NIST SP 800-63B §5.1.1.2): a length floor and ceiling counted
 * in code points (an emoji is one character), no composition rules, and refusal of passwords
 * known to be common, built mechanically from a common one, or built from the username. Pure.
 */
export const PASSWORD_MIN_CHARS = 8
/** argon2 accepts any length, but a ceiling bounds the work one request can ask for. */
export const PASSWORD_MAX_CHARS = 256

/**
 * The common passwords: zxcvbn-ts's `passwords-common` list (about 49,000 entries drawn from
 * breach-frequency lists, lower-case), a maintained package pinned in package.json. Loaded once
 * at start (about 20 ms). Entries shorter than the minimum stay: they are the bases of variants.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(dictionary['passwords-common'])

export type PasswordVerdict = { ok: true } | { ok: false; reason: string }

/**
 * NFKC, so the same password typed on two keyboards (composed or decomposed accents, full-width
 * digits) hashes the same. Applied before both the policy and the hash.
 */
export const normalizePassword = (password: string): string => password.normalize('NFKC')

/** What guessers append to a common password first: digits (a year) and a symbol or two. */
const SUFFIX_CHAR = /^[0-9!@#$%^&*.?_-]$/
const MAX_SUFFIX = 6
const LEET: Readonly<Record<string, string>> = {
  '@': 'a',
  '4': 'a',
  $: 's',
  '5': 's',
  '0': 'o',
  '3': 'e',
  '1': 'i',
  '!': 'i',
  '7': 't',
}
const unleet = (s: string) => s.replace(/[@4$5031!7]/g, (c) => LEET[c] ?? c)

/**
 * A common password, or one made from it the way guessers' rule sets do: up to six digits and
 * symbols appended (`dragon2024`, `letmein!`), look-alike characters (`p@55w0rd`), or both. The
 * list leaves these to zxcvbn's pattern matchers; this is the part of them a policy needs.
 */
const isCommon = (lower: string): boolean => {
  const chars = [...lower]
  for (let k = 0; k <= MAX_SUFFIX && k < chars.length; k++) {
    if (k > 0 && !SUFFIX_CHAR.test(chars[chars.length - k]!)) break
    const base = chars.slice(0, chars.length - k).join('')
    if (COMMON_PASSWORDS.has(base) || COMMON_PASSWORDS.has(unleet(base))) return true
  }
  return false
}

/** One block typed over and over: `kkkkkkkk`, `12341234`, `adminadmin`. */
const repeatedBlock = (chars: string[]): boolean => {
  for (let b = 1; b <= chars.length / 2; b++) {
    if (chars.length % b !== 0) continue
    if (chars.every((c, i) => c === chars[i % b])) return true
  }
  return false
}

/** A run up or down the character table: `abcdefgh`, `98765432`, `1234567890` (9 → 0 wraps). */
const sequence = (chars: string[]): boolean => {
  const steps = chars.slice(1).map((c, i) => {
    const prev = chars[i]!
    if (prev === '9' && c === '0') return 1
    if (prev === '0' && c === '9') return -1
    return c.codePointAt(0)! - prev.codePointAt(0)!
  })
  return steps.every((d) => d === 1) || steps.every((d) => d === -1)
}

export const checkPassword = (password: string, username: string): PasswordVerdict => {
  const p = normalizePassword(password)
  const chars = [...p]
  if (chars.length < PASSWORD_MIN_CHARS)
    return { ok: false, reason: `at least ${PASSWORD_MIN_CHARS} characters` }
  if (chars.length > PASSWORD_MAX_CHARS)
    return { ok: false, reason: `at most ${PASSWORD_MAX_CHARS} characters` }
  const lower = p.toLowerCase()
  if (new Set(chars).size === 1) return { ok: false, reason: 'one repeated character' }
  if (isCommon(lower)) return { ok: false, reason: 'this password is too common' }
  const lowerChars = [...lower]
  if (repeatedBlock(lowerChars)) return { ok: false, reason: 'one short pattern repeated' }
  if (sequence(lowerChars)) return { ok: false, reason: 'a run of consecutive characters' }
  const user = username.toLowerCase()
  if (user.length >= 3 && lower.includes(user))
    return { ok: false, reason: 'the password contains the username' }
  return { ok: true }
}
